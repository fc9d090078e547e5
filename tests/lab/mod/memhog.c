/* memhog: a user-space process that takes memory until the OOM killer comes (lab scenario oom-user).
 * Maps anonymous memory 1 MiB at a time and touches every page (so it is resident: RSS, not just
 * virtual size). No libc: raw syscalls; the comm is "memhog" because the binary is named so. */
#define SYS_write 1
#define SYS_mmap 9
#define SYS_exit 60
#define PROT_RW 3
#define MAP_PRIVATE_ANON 0x22
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}
void _start(void)
{
	static const char msg[] = "memhog: taking memory 1 MiB at a time\n";
	const long chunk = 1 << 20;

	sys6(SYS_write, 1, (long)msg, sizeof(msg) - 1, 0, 0, 0);
	for (;;) {
		long p = sys6(SYS_mmap, 0, chunk, PROT_RW, MAP_PRIVATE_ANON, -1, 0);
		if (p < 0 && p > -4096)
			continue;	/* keep asking: the OOM killer decides */
		for (long i = 0; i < chunk; i += 4096)
			((volatile char *)p)[i] = 1;
	}
}
