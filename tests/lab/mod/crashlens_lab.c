// SPDX-License-Identifier: GPL-2.0
/*
 * crashlens_lab: out-of-tree module that crashes a (QEMU) guest in a chosen way, so that the
 * crashlens dump lab (tests/lab/) can capture a real vmcore of it.
 *
 * Trigger: write a mode name to /sys/kernel/debug/crashlens_lab/provoke
 *   null    NULL pointer dereference (field at offset 0x18 of a NULL struct)
 *   bug     BUG()
 *   gpf     read through a list_del()'ed entry: non-canonical LIST_POISON1 0xdead000000000100
 *   uaf     read a pointer from a kfree()d object (boot with slub_debug=P: 0x6b6b6b6b6b6b6b6b)
 *   divide  integer divide by zero (divide error)
 *   warn    WARN_ON() (boot with panic_on_warn=1)
 *   panic   panic() with a message
 *   stack   unbounded recursion -> kernel stack guard page (double fault)
 *   lockup  spin with preemption disabled (boot with softlockup_panic=1)
 *   deadlock  two kernel threads take lab_lock_a and lab_lock_b in opposite order (ABBA): both
 *           block in mutex_lock() for ever (boot with hung_task_panic=1, a short timeout)
 *   hung    one kernel thread takes lab_lock_hung and sleeps for ever holding it; a second one
 *           blocks on it (no cycle)
 *   spinlock  a function takes lab_spin_lock and returns without releasing it (an error path
 *           that forgets spin_unlock()); the next spin_lock() spins forever (soft lockup)
 *   rcu     spin inside rcu_read_lock() with preemption disabled (boot with panic_on_rcu_stall=1)
 *   hardlockup  spin with interrupts disabled (boot with nmi_watchdog=1 hardlockup_panic=1)
 *   oomleak     leak objects of the module's own slab cache "crashlens_lab_leak" until the OOM
 *               killer runs (boot with sysctl.vm.panic_on_oom=1)
 *   listcorrupt list_add_tail() onto lab_list after a stale pointer was written over its last
 *               node's next (CONFIG_DEBUG_LIST + BUG_ON_DATA_CORRUPTION: "list_add corruption")
 *   dfree       kfree() a kmalloc'd session twice (boot with slub_debug=FZPU panic_on_taint=0x20)
 *   canary      overflow a local char array past the stack protector's canary
 *   redzone     write 8 bytes past the end of a 32-byte kmalloc buffer, then kfree() it (boot with
 *               slub_debug=FZPU panic_on_taint=0x20: SLUB's free check finds the red zone overwritten)
 *   poison      write to a record of the module's own cache after kmem_cache_free(), then allocate
 *               from that cache again (slub_debug=FZPU panic_on_taint=0x20: "Poison overwritten")
 *   badpage     free a page whose mapcount was left raised ("BUG: Bad page state"; boot with
 *               panic_on_taint=0x20)
 *   rwsem       kernel thread lab_writer takes lab_rwsem for writing and sleeps for ever holding
 *               it; lab_reader blocks in down_read() (boot with hung_task_panic=1)
 *   completion  kernel thread lab_done_wait waits in wait_for_completion() on lab_done, which
 *               only lab_complete_done() completes, from a worker that is never started
 *               (start_done_worker=0)
 *   pagelock    kernel thread lab_pagelock locks a page and locks it again: it waits for ever
 *               in the page lock's wait (io_schedule)
 *   spinhold    kernel thread lab_poller (bound to CPU 1) takes lab_hold_lock and polls inside
 *               the critical section for ever (mdelay, touching its own soft lockup watchdog);
 *               lab_spinner (bound to CPU 0) spins on the lock (soft lockup on CPU 0)
 * and reading /proc/crashlens_lab (the reference case): the read handler takes an error path that
 * frees a page it never allocated, __free_pages(NULL, 0), when simulate_enomem=1 (the default).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/debugfs.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/preempt.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/rcupdate.h>
#include <linux/irqflags.h>
#include <linux/rwsem.h>
#include <linux/completion.h>
#include <linux/pagemap.h>
#include <linux/nmi.h>
#ifndef WRITE_ONCE	/* before 3.19 */
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#endif

struct lab_item {
	u64 magic;
	int index;
	char name[16];
	struct list_head node;
};

/* Known data an analyzer can look for in the dump. */
static struct lab_item lab_items[3] = {
	{ .magic = 0xc7a5e1e05ab00001ULL, .index = 1, .name = "alpha" },
	{ .magic = 0xc7a5e1e05ab00002ULL, .index = 2, .name = "beta" },
	{ .magic = 0xc7a5e1e05ab00003ULL, .index = 3, .name = "gamma" },
};
static LIST_HEAD(lab_list);
u64 crashlens_lab_magic = 0x4352534c454e534cULL; /* "LSNELSRC" little endian: "CRSLENSL" */
EXPORT_SYMBOL(crashlens_lab_magic);

static int simulate_enomem = 1;
module_param(simulate_enomem, int, 0644);
MODULE_PARM_DESC(simulate_enomem, "read handler takes its (buggy) allocation-failure path");

static int recurse_limit = 1 << 20;
module_param(recurse_limit, int, 0644);

static struct dentry *lab_dir;
static struct proc_dir_entry *lab_proc;

struct victim { long pad[3]; long field; };
struct session { struct lab_item *item; char name[24]; };	/* item first: not on the 0xa5 end byte */

static noinline long lab_null_deref(struct victim *v)
{
	pr_emerg("crashlens_lab: dereferencing NULL pointer now\n");
	return READ_ONCE(v->field);	/* v == NULL -> fault at 0x18 */
}

static noinline u64 lab_walk_deleted(struct lab_item *it)
{
	struct list_head *next;

	list_del(&it->node);		/* next = LIST_POISON1, prev = LIST_POISON2 */
	next = READ_ONCE(it->node.next);
	pr_emerg("crashlens_lab: following a deleted list entry (next=%px)\n", next);
	return (u64)READ_ONCE(next->next);	/* GPF: non-canonical 0xdead000000000100 */
}

static noinline u64 lab_use_after_free(void)
{
	struct session *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return 0;
	s->item = &lab_items[0];
	strscpy(s->name, "session", sizeof(s->name));
	kfree(s);			/* slub_debug=P fills it with 0x6b */
	pr_emerg("crashlens_lab: using a freed object\n");
	return READ_ONCE(READ_ONCE(s->item)->magic);
}

static noinline int lab_divide(int total, int parts)
{
	pr_emerg("crashlens_lab: dividing %d by %d\n", total, parts);
	return total / parts;
}

static noinline int lab_recurse(int depth)
{
	volatile char frame[768];

	frame[0] = (char)depth;
	frame[sizeof(frame) - 1] = (char)depth;
	if (depth >= recurse_limit)
		return frame[0];
	return lab_recurse(depth + 1) + frame[depth % sizeof(frame)];
}

static noinline void lab_spin(void)
{
	pr_emerg("crashlens_lab: spinning with preemption disabled\n");
	preempt_disable();
	for (;;)
		cpu_relax();
}

/* ---- deadlock / hung: kernel threads stuck in mutex_lock() (TASK_UNINTERRUPTIBLE) ---- */
static DEFINE_MUTEX(lab_lock_a);
static DEFINE_MUTEX(lab_lock_b);
static DEFINE_MUTEX(lab_lock_hung);

/* Takes first, waits so the other thread takes its first too, then takes second. */
static noinline void lab_lock_pair(struct mutex *first, struct mutex *second)
{
	mutex_lock(first);
	pr_emerg("crashlens_lab: %s[%d] took %ps at %px, takes %ps at %px next\n", current->comm,
		 task_pid_nr(current), first, first, second, second);
	msleep(500);
	mutex_lock(second);	/* the other thread holds it and waits for first: never returns */
	mutex_unlock(second);
	mutex_unlock(first);
}

static int lab_deadlock_ab(void *unused)
{
	lab_lock_pair(&lab_lock_a, &lab_lock_b);
	return 0;
}

static int lab_deadlock_ba(void *unused)
{
	lab_lock_pair(&lab_lock_b, &lab_lock_a);
	return 0;
}

/* Takes lab_lock_hung and never gives it back: sleeps (D state, msleep) for ever. */
static noinline void lab_hold_forever(void)
{
	mutex_lock(&lab_lock_hung);
	pr_emerg("crashlens_lab: %s[%d] holds %ps at %px for ever (in %s)\n", current->comm,
		 task_pid_nr(current), &lab_lock_hung, &lab_lock_hung, __func__);
	for (;;)
		msleep(1000);
}

static int lab_hung_holder(void *unused)
{
	lab_hold_forever();
	return 0;
}

static noinline void lab_wait_hung(void)
{
	msleep(500);		/* the holder takes it first */
	mutex_lock(&lab_lock_hung);
	mutex_unlock(&lab_lock_hung);
}

static int lab_hung_waiter(void *unused)
{
	lab_wait_hung();
	return 0;
}

static void lab_start_threads(int (*one)(void *), const char *n1, int (*two)(void *), const char *n2)
{
	struct task_struct *t;

	t = kthread_run(one, NULL, "%s", n1);
	if (IS_ERR(t))
		pr_err("crashlens_lab: cannot start %s\n", n1);
	t = kthread_run(two, NULL, "%s", n2);
	if (IS_ERR(t))
		pr_err("crashlens_lab: cannot start %s\n", n2);
	pr_emerg("crashlens_lab: started %s and %s\n", n1, n2);
}
/* ---- end deadlock / hung ---- */

/* spinlock: a lock taken on an error path and never released */
static DEFINE_SPINLOCK(lab_spin_lock);
static int lab_spin_users;

static noinline int lab_spin_take(int n)
{
	spin_lock(&lab_spin_lock);
	lab_spin_users += n;
	if (lab_spin_users > 0) {
		pr_emerg("crashlens_lab: lab_spin_take returns with lab_spin_lock held\n");
		return -EBUSY;		/* BUG: forgot spin_unlock(&lab_spin_lock) */
	}
	spin_unlock(&lab_spin_lock);
	return 0;
}

static noinline void lab_spin_again(void)
{
	pr_emerg("crashlens_lab: taking lab_spin_lock again\n");
	spin_lock(&lab_spin_lock);	/* spins: nobody will release it */
	lab_spin_users--;
	spin_unlock(&lab_spin_lock);
}

/* rcu: a reader that never leaves its read-side critical section */
static noinline void lab_rcu_spin(void)
{
	pr_emerg("crashlens_lab: spinning inside rcu_read_lock() with preemption disabled\n");
	rcu_read_lock();
	preempt_disable();
	for (;;)
		cpu_relax();
}

/* hardlockup: interrupts off, so neither the timer nor the soft lockup watchdog runs here */
static noinline void lab_irq_spin(void)
{
	pr_emerg("crashlens_lab: spinning with interrupts disabled\n");
	local_irq_disable();
	for (;;)
		cpu_relax();
}

/* ---- oomleak: a slab cache of the module's own that only grows ---- */
struct lab_leak { u64 magic; char payload[2040]; };
static struct kmem_cache *lab_leak_cache;
static unsigned long lab_leaked;

static void lab_leak_ctor(void *obj)
{
	((struct lab_leak *)obj)->magic = 0xc7a5e1e0eaced00dULL;
}

static noinline void lab_leak_forever(void)
{
	/* the ctor keeps SLUB from merging it with another cache of the same size */
	lab_leak_cache = kmem_cache_create("crashlens_lab_leak", sizeof(struct lab_leak), 0, 0,
					   lab_leak_ctor);
	if (!lab_leak_cache)
		return;
	pr_emerg("crashlens_lab: leaking %zu-byte objects of crashlens_lab_leak until OOM\n",
		 sizeof(struct lab_leak));
	for (;;) {
		if (!kmem_cache_alloc(lab_leak_cache, GFP_KERNEL))	/* never freed */
			break;
		lab_leaked++;
		if (!(lab_leaked & 255))
			cond_resched();
	}
	pr_emerg("crashlens_lab: allocation failed after %lu objects\n", lab_leaked);
}

/* ---- listcorrupt: a stale pointer in a list node, found by CONFIG_DEBUG_LIST ---- */
static noinline void lab_list_corrupt(void)
{
	struct lab_item *it = kzalloc(sizeof(*it), GFP_KERNEL);
	struct lab_item *more = kzalloc(sizeof(*more), GFP_KERNEL);

	if (!it || !more)
		return;
	it->magic = 0xc7a5e1e05ab00004ULL;
	strscpy(it->name, "delta", sizeof(it->name));
	list_add_tail(&it->node, &lab_list);
	/* a stale pointer over the tail's next, as if the tail had been freed and reused */
	WRITE_ONCE(it->node.next, &lab_items[0].node);
	pr_emerg("crashlens_lab: adding to lab_list after its tail %px was overwritten\n", &it->node);
	list_add_tail(&more->node, &lab_list);	/* prev->next should be &lab_list */
	pr_emerg("crashlens_lab: lab_list survived\n");	/* not a tail call: this frame stays */
}

/* ---- dfree: the same kmalloc'd object freed twice ---- */
static noinline void lab_session_close(struct session *s)
{
	kfree(s);
	pr_emerg("crashlens_lab: session closed\n");	/* not a tail call: SLUB records this site */
}

static noinline void lab_double_free(void)
{
	struct session *s = kmalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return;
	s->item = &lab_items[2];
	strscpy(s->name, "session", sizeof(s->name));
	lab_session_close(s);
	pr_emerg("crashlens_lab: freeing session %px again\n", s);
	kfree(s);			/* SLUB (slub_debug=F): "Object already free" */
	pr_emerg("crashlens_lab: session freed twice\n");
}

/* ---- redzone: a kmalloc'd buffer written past its end, found when it is freed ---- */
static int overrun_len = 40;
module_param(overrun_len, int, 0644);

static noinline void lab_buf_release(char *buf)
{
	kfree(buf);			/* SLUB (slub_debug=FZ): "Right Redzone overwritten" */
	pr_emerg("crashlens_lab: buffer released\n");	/* not a tail call */
}

static noinline void lab_redzone_write(void)
{
	char *buf = kmalloc(32, GFP_KERNEL);
	char *volatile p = buf;		/* the compiler cannot see the bound */
	int i, n = READ_ONCE(overrun_len);

	if (!buf)
		return;
	pr_emerg("crashlens_lab: writing %d bytes into the 32-byte buffer %px\n", n, buf);
	for (i = 0; i < n; i++)
		p[i] = 'A' + i % 26;
	lab_buf_release(buf);
	pr_emerg("crashlens_lab: overrun buffer freed\n");
}

/* ---- poison: a record written after it was freed, found when its cache allocates again ---- */
struct lab_rec { u64 id; u64 state; char name[48]; };
static struct kmem_cache *lab_rec_cache;

static noinline struct lab_rec *lab_rec_alloc(void)
{
	struct lab_rec *r = kmem_cache_alloc(lab_rec_cache, GFP_KERNEL);

	pr_emerg("crashlens_lab: record %px allocated\n", r);	/* not a tail call */
	return r;
}

static noinline void lab_rec_release(struct lab_rec *r)
{
	kmem_cache_free(lab_rec_cache, r);
	pr_emerg("crashlens_lab: record %px released\n", r);
}

static noinline void lab_rec_mark_done(struct lab_rec *r)
{
	WRITE_ONCE(r->state, 0xd0d0d0d0d0d0d0d0ULL);	/* r was freed: a write after free */
	pr_emerg("crashlens_lab: record %px marked done\n", r);
}

static noinline void lab_poison_write(void)
{
	struct lab_rec *r, *again;

	lab_rec_cache = kmem_cache_create("crashlens_lab_rec", sizeof(struct lab_rec), 0, 0, NULL);
	if (!lab_rec_cache)
		return;
	r = lab_rec_alloc();
	if (!r)
		return;
	r->id = 1;
	lab_rec_release(r);
	lab_rec_mark_done(r);
	/* SLUB (slub_debug=FZP) checks the free object's poison before handing it out again */
	again = kmem_cache_alloc(lab_rec_cache, GFP_KERNEL);
	pr_emerg("crashlens_lab: record %px allocated again\n", again);
}

/* ---- canary: a local array overflowed past the stack protector's canary ---- */
static int smash_len = 32;
module_param(smash_len, int, 0644);

static char smash_fill[8] = "AAAAAAA";

static noinline int lab_stack_smash(void)
{
	const char *src = smash_fill;
	char name[16];			/* a char array: -fstack-protector-strong guards this frame */
	char *volatile p = name;	/* the compiler cannot see the bound */
	int i, n = READ_ONCE(smash_len);

	pr_emerg("crashlens_lab: copying %d bytes into a %zu-byte stack buffer\n", n, sizeof(name));
	for (i = 0; i < n; i++)
		p[i] = src[i % 8];
	return p[0];
}

/* ---- badpage: a page freed while still counted as mapped ---- */
static noinline void lab_bad_page(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return;
	atomic_inc(&page->_mapcount);	/* as if a mapping of it were never torn down */
	pr_emerg("crashlens_lab: freeing page pfn %lx with mapcount %d\n", page_to_pfn(page),
		 atomic_read(&page->_mapcount) + 1);
	__free_pages(page, 0);		/* free_pages_prepare(): "nonzero mapcount" */
	pr_emerg("crashlens_lab: page freed\n");
}

/* ---- rwsem: a writer that never gives lab_rwsem back ---- */
static DECLARE_RWSEM(lab_rwsem);

static noinline void lab_write_forever(void)
{
	down_write(&lab_rwsem);
	pr_emerg("crashlens_lab: %s[%d] holds %ps at %px for ever (in %s)\n", current->comm,
		 task_pid_nr(current), &lab_rwsem, &lab_rwsem, __func__);
	for (;;)
		msleep(1000);
}

static int lab_rwsem_writer(void *unused)
{
	lab_write_forever();
	return 0;
}

static noinline void lab_read_config(void)
{
	msleep(500);		/* the writer takes it first */
	down_read(&lab_rwsem);
	up_read(&lab_rwsem);
}

static int lab_rwsem_reader(void *unused)
{
	lab_read_config();
	return 0;
}
/* ---- end rwsem ---- */

/* ---- completion: a wait for a worker that was never started ---- */
static DECLARE_COMPLETION(lab_done);
static int start_done_worker;
module_param(start_done_worker, int, 0644);
MODULE_PARM_DESC(start_done_worker, "completion mode starts the worker that completes lab_done");

static noinline void lab_complete_done(void)
{
	complete(&lab_done);
	pr_emerg("crashlens_lab: %ps completed\n", &lab_done);	/* not a tail call */
}

static int lab_done_worker(void *unused)
{
	msleep(100);
	lab_complete_done();
	return 0;
}

static noinline void lab_wait_done(void)
{
	pr_emerg("crashlens_lab: %s[%d] waits for %ps at %px (in %s)\n", current->comm,
		 task_pid_nr(current), &lab_done, &lab_done, __func__);
	wait_for_completion(&lab_done);
	pr_emerg("crashlens_lab: %ps done\n", &lab_done);	/* not a tail call */
}

static int lab_done_waiter(void *unused)
{
	lab_wait_done();
	return 0;
}

static void lab_start_completion(void)
{
	struct task_struct *t = kthread_run(lab_done_waiter, NULL, "lab_done_wait");

	if (IS_ERR(t))
		pr_err("crashlens_lab: cannot start lab_done_wait\n");
	if (READ_ONCE(start_done_worker))
		t = kthread_run(lab_done_worker, NULL, "lab_done_work");
	else
		pr_emerg("crashlens_lab: the worker that completes %ps is not started\n", &lab_done);
}
/* ---- end completion ---- */

/* ---- pagelock: a page locked twice by the same thread ---- */
static noinline void lab_relock_page(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return;
	lock_page(page);
	pr_emerg("crashlens_lab: %s[%d] locked page pfn %lx, locks it again (in %s)\n", current->comm,
		 task_pid_nr(current), page_to_pfn(page), __func__);
	lock_page(page);	/* waits for its own lock: never returns */
	unlock_page(page);
	pr_emerg("crashlens_lab: page relocked\n");
}

static int lab_pagelock_thread(void *unused)
{
	lab_relock_page();
	return 0;
}
/* ---- end pagelock ---- */

/* ---- spinhold: a critical section that never ends, on another CPU ---- */
static DEFINE_SPINLOCK(lab_hold_lock);
static int lab_polling = 1;

static noinline void lab_poll_locked(void)
{
	spin_lock(&lab_hold_lock);
	pr_emerg("crashlens_lab: %s[%d] on CPU %d holds %ps at %px, polling (in %s)\n", current->comm,
		 task_pid_nr(current), raw_smp_processor_id(), &lab_hold_lock, &lab_hold_lock, __func__);
	while (READ_ONCE(lab_polling)) {
		mdelay(10);
		touch_softlockup_watchdog();	/* hides this CPU from its own watchdog only */
	}
	spin_unlock(&lab_hold_lock);
}

static int lab_poller(void *unused)
{
	lab_poll_locked();
	return 0;
}

static noinline void lab_take_hold_lock(void)
{
	msleep(500);		/* the poller takes it first */
	pr_emerg("crashlens_lab: %s[%d] on CPU %d takes %ps\n", current->comm, task_pid_nr(current),
		 raw_smp_processor_id(), &lab_hold_lock);
	spin_lock(&lab_hold_lock);	/* spins: the poller never leaves its critical section */
	spin_unlock(&lab_hold_lock);
}

static int lab_spinner(void *unused)
{
	lab_take_hold_lock();
	return 0;
}

static void lab_start_bound(int (*fn)(void *), const char *name, int cpu)
{
	struct task_struct *t = kthread_create(fn, NULL, "%s", name);

	if (IS_ERR(t)) {
		pr_err("crashlens_lab: cannot start %s\n", name);
		return;
	}
	kthread_bind(t, cpu);
	wake_up_process(t);
	pr_emerg("crashlens_lab: started %s on CPU %d\n", name, cpu);
}
/* ---- end spinhold ---- */

static noinline void lab_provoke(const char *what)
{
	struct victim *volatile v = NULL;
	int volatile zero = 0;

	if (!strncmp(what, "null", 4))
		pr_emerg("crashlens_lab: result %ld\n", lab_null_deref(v));
	else if (!strncmp(what, "bug", 3))
		BUG();
	else if (!strncmp(what, "gpf", 3))
		pr_emerg("crashlens_lab: got %llx\n", lab_walk_deleted(&lab_items[1]));
	else if (!strncmp(what, "uaf", 3))
		pr_emerg("crashlens_lab: got %llx\n", lab_use_after_free());
	else if (!strncmp(what, "divide", 6))
		pr_emerg("crashlens_lab: got %d\n", lab_divide(4096, zero));
	else if (!strncmp(what, "warn", 4))
		WARN_ON(zero == 0);
	else if (!strncmp(what, "panic", 5))
		panic("crashlens_lab: requested panic");
	else if (!strncmp(what, "stack", 5))
		pr_emerg("crashlens_lab: got %d\n", lab_recurse(0));
	else if (!strncmp(what, "lockup", 6))
		lab_spin();
	else if (!strncmp(what, "deadlock", 8))
		lab_start_threads(lab_deadlock_ab, "lab_abba_1", lab_deadlock_ba, "lab_abba_2");
	else if (!strncmp(what, "hung", 4))
		lab_start_threads(lab_hung_holder, "lab_holder", lab_hung_waiter, "lab_waiter");
	else if (!strncmp(what, "spinlock", 8)) {
		if (lab_spin_take(1))
			lab_spin_again();
	} else if (!strncmp(what, "rcu", 3))
		lab_rcu_spin();
	else if (!strncmp(what, "hardlockup", 10))
		lab_irq_spin();
	else if (!strncmp(what, "oomleak", 7))
		lab_leak_forever();
	else if (!strncmp(what, "listcorrupt", 11))
		lab_list_corrupt();
	else if (!strncmp(what, "dfree", 5))
		lab_double_free();
	else if (!strncmp(what, "redzone", 7))
		lab_redzone_write();
	else if (!strncmp(what, "poison", 6))
		lab_poison_write();
	else if (!strncmp(what, "badpage", 7))
		lab_bad_page();
	else if (!strncmp(what, "rwsem", 5))
		lab_start_threads(lab_rwsem_writer, "lab_writer", lab_rwsem_reader, "lab_reader");
	else if (!strncmp(what, "completion", 10))
		lab_start_completion();
	else if (!strncmp(what, "pagelock", 8)) {
		if (IS_ERR(kthread_run(lab_pagelock_thread, NULL, "lab_pagelock")))
			pr_err("crashlens_lab: cannot start lab_pagelock\n");
	} else if (!strncmp(what, "spinhold", 8)) {
		lab_start_bound(lab_poller, "lab_poller", 1);
		lab_start_bound(lab_spinner, "lab_spinner", 0);
	} else if (!strncmp(what, "canary", 6))
		pr_emerg("crashlens_lab: got %d\n", lab_stack_smash());
	else
		pr_warn("crashlens_lab: unknown request '%s'\n", what);
}

static ssize_t provoke_write(struct file *f, const char __user *ubuf, size_t len, loff_t *off)
{
	char buf[16] = {};

	if (copy_from_user(buf, ubuf, min(len, sizeof(buf) - 1)))
		return -EFAULT;
	lab_provoke(buf);
	return len;
}

static const struct file_operations provoke_fops = {
	.owner = THIS_MODULE,
	.write = provoke_write,
};

/*
 * The reference case: a read handler whose allocation-failure path frees the page it never got.
 */
static ssize_t lab_read(struct file *f, char __user *ubuf, size_t len, loff_t *off)
{
	struct page *page = NULL;
	ssize_t ret = -ENOMEM;
	char *p;

	if (*off > 0)
		return 0;
	if (READ_ONCE(simulate_enomem))
		goto out_free;		/* as if alloc_page() had failed */
	page = alloc_page(GFP_KERNEL);
	if (!page)
		goto out_free;
	p = page_address(page);
	ret = scnprintf(p, PAGE_SIZE, "crashlens_lab magic %llx\n", crashlens_lab_magic);
	if (len < ret)
		ret = len;
	if (copy_to_user(ubuf, p, ret))
		ret = -EFAULT;
	else
		*off += ret;
out_free:
	__free_pages(page, 0);		/* BUG: page is NULL on the failure path */
	return ret;
}

static const struct proc_ops lab_proc_ops = {
	.proc_read = lab_read,
	.proc_lseek = default_llseek,
};

static int __init crashlens_lab_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(lab_items); i++)
		list_add_tail(&lab_items[i].node, &lab_list);
	lab_dir = debugfs_create_dir("crashlens_lab", NULL);
	debugfs_create_file("provoke", 0200, lab_dir, NULL, &provoke_fops);
	lab_proc = proc_create("crashlens_lab", 0444, NULL, &lab_proc_ops);
	pr_info("crashlens_lab: loaded, magic %llx at %px\n", crashlens_lab_magic, &crashlens_lab_magic);
	return 0;
}

static void __exit crashlens_lab_exit(void)
{
	proc_remove(lab_proc);
	debugfs_remove_recursive(lab_dir);
}

module_init(crashlens_lab_init);
module_exit(crashlens_lab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crashlens dump lab: crash provoker");
