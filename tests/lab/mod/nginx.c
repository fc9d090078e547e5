/* A tiny static "nginx": reads /proc/crashlens_lab like a web server reading a file it serves.
 * Its comm is "nginx" because the binary is named nginx.  No libc: raw syscalls. */
#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_exit 60
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
static char buf[4096];
void _start(void)
{
	static const char path[] = "/proc/crashlens_lab";
	static const char msg[] = "nginx: worker reading /proc/crashlens_lab\n";
	long fd, n;

	sys3(SYS_write, 1, (long)msg, sizeof(msg) - 1);
	fd = sys3(SYS_open, (long)path, 0, 0);
	if (fd >= 0) {
		n = sys3(SYS_read, fd, (long)buf, sizeof(buf));
		if (n > 0)
			sys3(SYS_write, 1, (long)buf, n);
	}
	sys3(SYS_exit, 0, 0, 0);
	for (;;)
		;
}
