/*
 * C++: a std::thread pool of 3 named threads waiting on a condition variable
 * for work; once all 3 run, main forks and the child _exit(0)s.
 * Reports: pid, thread (TID,COMM) x3, child, child_status.
 */
#include "ftlib.c"
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

class Pool {
    public:
	explicit Pool(int n)
	{
		for (int i = 0; i < n; i++)
			threads_.emplace_back([this, i] { run(i); });
		std::unique_lock<std::mutex> lk(m_);
		cv_.wait(lk, [this, n] { return running_ == n; });
	}
	~Pool()
	{
		{
			std::lock_guard<std::mutex> lk(m_);
			stop_ = true;
		}
		cv_.notify_all();
		for (auto &t : threads_)
			t.join();
	}

    private:
	void run(int i)
	{
		char name[16];
		snprintf(name, sizeof name, "ft-pool-%d", i);
		pthread_setname_np(pthread_self(), name);
		report_thread("thread");
		std::unique_lock<std::mutex> lk(m_);
		running_++;
		cv_.notify_all();
		cv_.wait(lk, [this] { return stop_; });
	}

	std::vector<std::thread> threads_;
	std::mutex m_;
	std::condition_variable cv_;
	int running_ = 0;
	bool stop_ = false;
};

int main()
{
	report("pid=%d", getpid());
	Pool pool(3);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(0);
	report("child=%d", child);
	wait_child(child, "child_status");
	return 0;
}
