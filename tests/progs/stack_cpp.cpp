/*
 * Trigger for C++ stacks: two std::threads of ft::Waiter sit in
 * ft::Waiter::waits_here(int) (a member function, blocked in read) when
 * main forks; the child lives 300 ms, then _exit(0)s. Each worker is seen
 * in its read (/proc) before the fork, so its stack at the fork is exactly
 * where it waits.
 * Reports: pid, thread (TID,COMM) x2, child, child_status.
 */
#include "ftlib.c"
#include <atomic>
#include <thread>
#include <vector>

namespace ft
{
class Waiter {
    public:
	explicit Waiter(int fd) : fd_(fd)
	{
	}
	void run(int i)
	{
		char name[16];

		snprintf(name, sizeof name, "ft-waiter-%d", i);
		pthread_setname_np(pthread_self(), name);
		tid_ = ft_tid();
		report_thread("thread");
		waits_here(i);
	}
	__attribute__((noinline)) void waits_here(int i)
	{
		char c;

		got_ += (int)read(fd_, &c, 1) + i;
		__asm__ volatile("" ::: "memory");
	}
	std::atomic<int> tid_{ 0 };

    private:
	int fd_;
	int got_ = 0;
};
} // namespace ft

int main()
{
	int never[2];

	if (pipe(never))
		die("pipe");
	report("pid=%d", getpid());
	std::vector<ft::Waiter *> waiters;
	std::vector<std::thread> threads;
	for (int i = 0; i < 2; i++) {
		waiters.push_back(new ft::Waiter(never[0]));
		threads.emplace_back([w = waiters.back(), i] { w->run(i); });
	}
	for (auto *w : waiters)
		while (!w->tid_ || !ft_in_syscall(w->tid_, SYS_read))
			usleep(1000);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		usleep(300000);
		_exit(0);
	}
	report("child=%d", child);
	wait_child(child, "child_status");
	_exit(0); /* the waiters never return */
}
