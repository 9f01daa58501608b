# bash completion for forktrace(8).
# Options, subcommands and the values of --X=a|b|c are read from `forktrace --help`
# itself, so that completion never lags behind the binary it completes.

_forktrace_help()
{
	[[ -n $_forktrace_help_text ]] || _forktrace_help_text=$("$1" --help 2>/dev/null)
	printf '%s\n' "$_forktrace_help_text"
}

# PIDs starting with $1, or those of the processes whose name starts with $1.
_forktrace_pids()
{
	local d comm
	for d in /proc/[0-9]*; do
		d=${d#/proc/}
		if [[ $1 == +([0-9]) || -z $1 ]]; then
			[[ $d == "$1"* ]] && printf '%s\n' "$d"
		elif read -r comm 2>/dev/null <"/proc/$d/comm" && [[ $comm == "$1"* ]]; then
			printf '%s\n' "$d"
		fi
	done
}

_forktrace()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} opt="" help i
	COMPREPLY=()
	command -v "$prog" >/dev/null 2>&1 || prog=forktrace
	help=$(_forktrace_help "$prog")

	# after "--" comes COMMAND: complete it as a command line of its own
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -- ]]; then
			if declare -F _command_offset >/dev/null; then
				_command_offset $((i + 1))
			else
				COMPREPLY=($(compgen -c -- "$cur"))
			fi
			return
		fi
	done

	# "--locks=sc" is one word, or three when "=" breaks words (bash's default)
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		cur=${cur#*=}
	elif [[ $cur == = && $prev == --* ]]; then
		opt=$prev
		cur=""
	elif [[ $prev == = && COMP_CWORD -ge 3 ]]; then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	if [[ -n $opt ]]; then
		local values
		values=$(grep -o -- "$opt=[a-z][a-z|]*" <<<"$help" | head -n 1)
		values=${values#*=}
		COMPREPLY=($(compgen -W "${values//|/ }" -- "$cur"))
		return
	fi

	case $prev in
	-p)
		local head="" last=$cur
		if [[ $cur == *,* ]]; then
			head=${cur%,*},
			last=${cur##*,}
		fi
		COMPREPLY=($(_forktrace_pids "$last"))
		COMPREPLY=("${COMPREPLY[@]/#/$head}")
		return
		;;
	-o)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-u)
		COMPREPLY=($(compgen -u -- "$cur"))
		return
		;;
	-d | --grace | --scan-limit | --scan-threads | --scan-queue | --influx*)
		return
		;;
	esac

	local sub=${COMP_WORDS[1]}
	case $sub in
	diagnose)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json -o" -- "$cur"))
		else
			COMPREPLY=($(_forktrace_pids "$cur"))
		fi
		return
		;;
	check)
		COMPREPLY=($(compgen -W "--json" -- "$cur"))
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		local opts
		# "--locks=scan|..." offers "--locks=", "--json" itself, "-v, -q" both
		opts=$(grep -o -- '\(^\|[ ,(]\)--*[a-zA-Z][a-zA-Z-]*=\?' <<<"$help" |
			sed 's/^[ ,(]*//' | sort -u)
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		[[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
		return
	fi
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$(sed -n 's/.*forktrace \([a-z][a-z]*\) .*/\1/p' <<<"$help")" -- "$cur"))
	fi
} &&
	complete -F _forktrace forktrace
