/* struct options → each part's own config (see configs.h). */
#include <string.h>
#include "cli/configs.h"
#include "forktrace.h"

/* The model copies a record's comm into an event's whole: the two must agree. */
_Static_assert(EV_COMM_LEN == FT_COMM_LEN, "an event's comm is a kernel record's comm");

void output_config_from(const struct options *o, struct output_config *c)
{
	memset(c, 0, sizeof(*c));
	c->format = o->format;
	c->verbosity = o->verbosity;
	c->path = o->output_path;
	c->fail_on_set = o->fail_on_set;
	c->fail_on = o->fail_on;
	c->record = o->report_path != NULL;
	c->influx = (struct influx_config){
		.url = o->influx.url,
		.db = o->influx.db,
		.user = o->influx.user,
		.org = o->influx.org,
		.bucket = o->influx.bucket,
	};
}
