//! Sleeping locks as memory holds them: a `struct mutex` or `struct rw_semaphore`, its owner
//! (the `owner` word with its flag bits masked), and which lock a blocked task waits for.
//!
//! Where the lock a task waits for is read from, best first:
//! - `task_struct.blocker` (CONFIG_DETECT_HUNG_TASK_BLOCKER, 6.16+): the lock address with its
//!   type in the low 2 bits (include/linux/hung_task.h: 0 mutex, 1 semaphore, 2 rwsem reader,
//!   3 rwsem writer);
//! - `task_struct.blocked_on` (the `struct mutex *` of proxy execution, 6.16+);
//! - else the task's own kernel stack: `__mutex_lock()` and the rwsem slow paths put a waiter
//!   (`struct mutex_waiter` / `struct rwsem_waiter`: `list`, then `task`) on the stack of the
//!   task that sleeps and link it into the lock's `wait_list`. A stack word equal to the task's
//!   own address, preceded by a `list_head` whose neighbours point back at it, is that waiter;
//!   its ring holds every waiter (each on its own task's stack) and one node that is not a
//!   waiter: the lock's `wait_list`, so the lock is that node minus `wait_list`'s offset.
//!   Newer mutexes and rw_semaphores (7.x) keep no list head, only `first_waiter` (a pointer to one waiter of the
//!   ring): then the lock is the stack word of the blocked task (`__mutex_lock()` keeps its
//!   argument there) that points to a mutex whose `first_waiter` is a node of the ring.
//!   A candidate whose owner word is not a task is no lock (a wait queue entry looks alike).
//!
//! Every walk is bounded (stack words, ring nodes); an owner word that is not a task's address
//! is reported as such, never followed.

use super::tasks::Task;
use super::Kernel;
use serde::Serialize;
use std::collections::HashMap;

/// Kernel stack size of x86_64 (16 KiB; 32 KiB with KASAN: a saved stack pointer beyond the
/// first 16 KiB says so).
pub const THREAD_SIZE: u64 = 16 << 10;
/// Nodes followed around a lock's wait list.
const MAX_RING: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    Mutex,
    RwSemaphore,
    Semaphore,
}

impl LockKind {
    pub fn type_name(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwSemaphore => "rw_semaphore",
            LockKind::Semaphore => "semaphore",
        }
    }
}

/// How the lock a task waits for was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// `task_struct.blocker`.
    Blocker,
    /// `task_struct.blocked_on`.
    BlockedOn,
    /// The waiter on the task's stack, linked into the lock's `wait_list`.
    StackWaiter,
}

/// The owner word of a lock, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum Owner {
    /// No owner recorded (free, or owned by readers that left no trace).
    None,
    /// A task of the task list (flag bits masked).
    Task {
        #[serde(with = "crate::util::hex")]
        task: u64,
        /// The owner word's low bits (mutex: WAITERS 1, HANDOFF 2, PICKUP 4; rwsem: READER_OWNED
        /// 1, NONSPINNABLE 2).
        flags: u64,
        /// An rwsem whose owner word says readers own it: the task is the last reader to take
        /// it (the kernel does not keep every reader).
        readers: bool,
    },
    /// A value that is not the address of any task: a corrupted or freed lock.
    NotATask {
        #[serde(with = "crate::util::hex")]
        value: u64,
    },
    /// The owner word could not be read.
    Unreadable,
}

/// Addresses of every task and its stack, to tell a task pointer from garbage.
pub struct TaskIndex<'a> {
    by_addr: HashMap<u64, &'a Task>,
}

impl<'a> TaskIndex<'a> {
    pub fn new(tasks: &'a [Task]) -> TaskIndex<'a> {
        TaskIndex {
            by_addr: tasks.iter().map(|t| (t.addr, t)).collect(),
        }
    }
    pub fn get(&self, addr: u64) -> Option<&'a Task> {
        self.by_addr.get(&addr).copied()
    }
    /// Whether `addr` lies on task `t`'s kernel stack.
    fn on_stack_of(&self, t: &Task, addr: u64) -> bool {
        let size = stack_size(t);
        t.stack != 0 && addr >= t.stack && addr < t.stack.saturating_add(size)
    }
}

/// The kernel stack size of a task (see [`THREAD_SIZE`]).
pub fn stack_size(t: &Task) -> u64 {
    if t.sp >= t.stack.saturating_add(THREAD_SIZE) && t.sp < t.stack.saturating_add(2 * THREAD_SIZE)
    {
        2 * THREAD_SIZE
    } else {
        THREAD_SIZE
    }
}

/// The words of a switched-out task's stack from its saved `thread.sp` to the top:
/// (address of the first word, words). Bounded by the stack size.
pub fn stack_words(k: &Kernel, t: &Task) -> Option<(u64, Vec<u64>)> {
    let top = t.stack.checked_add(stack_size(t))?;
    if t.stack == 0 || t.sp < t.stack || t.sp >= top || t.sp & 7 != 0 {
        return None;
    }
    let b = k.read_bytes(t.sp, (top - t.sp) as usize).ok()?;
    let w = b
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Some((t.sp, w))
}

/// Offsets the lock code needs (BTF, else the x86_64 layout of 4.x..7.x without lock debugging).
#[derive(Debug, Clone, Copy)]
pub struct LockLayout {
    pub mutex_owner: u64,
    pub mutex_wait_list: u64,
    /// `mutex.first_waiter` of the mutexes without a `wait_list` head.
    pub mutex_first_waiter: Option<u64>,
    pub rwsem_owner: u64,
    pub rwsem_wait_list: u64,
    /// `rw_semaphore.first_waiter` of the rwsems without a `wait_list` head (7.x).
    pub rwsem_first_waiter: Option<u64>,
    pub sem_wait_list: u64,
    /// `list` and `task` in `struct mutex_waiter` / `struct rwsem_waiter`.
    pub waiter_list: u64,
    pub waiter_task: u64,
    /// `task_struct.blocker` / `task_struct.blocked_on`.
    pub blocker: Option<u64>,
    pub blocked_on: Option<u64>,
    /// Whether the offsets came from BTF.
    pub from_btf: bool,
}

impl LockLayout {
    pub fn of(k: &Kernel) -> LockLayout {
        let b = k.btf();
        let o = |s: &str, m: &str| b.and_then(|b| b.member_offset(s, m));
        LockLayout {
            mutex_owner: o("mutex", "owner").unwrap_or(0),
            mutex_wait_list: o("mutex", "wait_list").unwrap_or(16),
            mutex_first_waiter: o("mutex", "wait_list")
                .is_none()
                .then(|| o("mutex", "first_waiter"))
                .flatten(),
            rwsem_owner: o("rw_semaphore", "owner").unwrap_or(8),
            rwsem_wait_list: o("rw_semaphore", "wait_list").unwrap_or(24),
            rwsem_first_waiter: o("rw_semaphore", "wait_list")
                .is_none()
                .then(|| o("rw_semaphore", "first_waiter"))
                .flatten(),
            sem_wait_list: o("semaphore", "wait_list").unwrap_or(8),
            waiter_list: o("mutex_waiter", "list").unwrap_or(0),
            waiter_task: o("mutex_waiter", "task").unwrap_or(16),
            blocker: o("task_struct", "blocker"),
            blocked_on: o("task_struct", "blocked_on"),
            from_btf: b.is_some(),
        }
    }

    /// The `first_waiter` offset of a lock kind without a `wait_list` head.
    fn first_waiter(&self, kind: LockKind) -> Option<u64> {
        match kind {
            LockKind::Mutex => self.mutex_first_waiter,
            LockKind::RwSemaphore => self.rwsem_first_waiter,
            LockKind::Semaphore => None,
        }
    }

    fn wait_list(&self, kind: LockKind) -> u64 {
        match kind {
            LockKind::Mutex => self.mutex_wait_list,
            LockKind::RwSemaphore => self.rwsem_wait_list,
            LockKind::Semaphore => self.sem_wait_list,
        }
    }
}

/// The lock a blocked task waits for, with the kind its frames say (`hint`; `blocker` knows
/// its own kind). None when nothing names one.
pub fn waited_lock(
    k: &Kernel,
    l: &LockLayout,
    idx: &TaskIndex,
    t: &Task,
    hint: Option<LockKind>,
) -> Option<(u64, LockKind, FoundBy)> {
    if let Some(off) = l.blocker {
        if let Ok(v) = k.read_u64(t.addr + off) {
            if v != 0 {
                let kind = match v & 3 {
                    0 => LockKind::Mutex,
                    1 => LockKind::Semaphore,
                    _ => LockKind::RwSemaphore,
                };
                return Some((v & !3, kind, FoundBy::Blocker));
            }
        }
    }
    if let (Some(off), Some(LockKind::Mutex) | None) = (l.blocked_on, hint) {
        if let Ok(v) = k.read_u64(t.addr + off) {
            if v != 0 && v & 7 == 0 {
                return Some((v, LockKind::Mutex, FoundBy::BlockedOn));
            }
        }
    }
    let kind = hint?;
    stack_waiter_lock(k, l, idx, t, kind).map(|a| (a, kind, FoundBy::StackWaiter))
}

/// The lock whose wait list holds the waiter on `t`'s stack (see the module comment).
fn stack_waiter_lock(
    k: &Kernel,
    l: &LockLayout,
    idx: &TaskIndex,
    t: &Task,
    kind: LockKind,
) -> Option<u64> {
    let (base, words) = stack_words(k, t)?;
    let task_slot = l.waiter_task.checked_sub(l.waiter_list)?;
    for (i, &w) in words.iter().enumerate() {
        if w != t.addr {
            continue;
        }
        let Some(node) = (base + 8 * i as u64).checked_sub(task_slot) else {
            continue;
        };
        let Some((ring, head)) = ring_of(k, l, idx, node) else {
            continue;
        };
        let lock = match (head, l.first_waiter(kind)) {
            (Some(h), None) => h.checked_sub(l.wait_list(kind)),
            (None, Some(fw)) => words.iter().copied().find(|&w| {
                w >= KERNEL_HALF
                    && k.read_u64(w.wrapping_add(fw))
                        .is_ok_and(|f| ring.contains(&f))
            }),
            _ => None,
        };
        if let Some(lock) = lock {
            let owner = lock_owner(k, l, idx, lock, kind);
            let plausible = match kind {
                LockKind::Mutex => matches!(owner, Owner::Task { .. }),
                _ => matches!(owner, Owner::Task { .. } | Owner::None),
            };
            if plausible {
                return Some(lock);
            }
        }
    }
    None
}

/// Addresses at or above this are kernel addresses.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// Walks the ring of `node` (a candidate waiter's `list`): its nodes, and the one node that is
/// not a waiter on its task's stack (the lock's `wait_list`; none in a ring of waiters only).
/// None when the ring is not a proper doubly linked ring, is too long, or has two non-waiters.
fn ring_of(
    k: &Kernel,
    l: &LockLayout,
    idx: &TaskIndex,
    node: u64,
) -> Option<(Vec<u64>, Option<u64>)> {
    ring_with(k, idx, node, l.waiter_task as i64 - l.waiter_list as i64)
}

/// [`ring_of`] for any waiter whose task pointer sits `task_rel` bytes from its list node.
fn ring_with(
    k: &Kernel,
    idx: &TaskIndex,
    node: u64,
    task_rel: i64,
) -> Option<(Vec<u64>, Option<u64>)> {
    let mut n = node;
    let mut head = None;
    let mut ring = Vec::new();
    for _ in 0..MAX_RING {
        ring.push(n);
        let next = k.read_u64(n).ok()?;
        if k.read_u64(next + 8).ok()? != n {
            return None;
        }
        let is_waiter = k
            .read_u64(n.wrapping_add_signed(task_rel))
            .ok()
            .and_then(|a| idx.get(a))
            .is_some_and(|w| idx.on_stack_of(w, n));
        if !is_waiter {
            if head.is_some() {
                return None;
            }
            head = Some(n);
        }
        n = next;
        if n == node {
            return Some((ring, head));
        }
    }
    None
}

/// The owner of a lock, flag bits masked: 3 bits for a mutex (MUTEX_FLAGS), the reader/
/// nonspinnable bits for an rwsem. A semaphore has no owner.
pub fn lock_owner(k: &Kernel, l: &LockLayout, idx: &TaskIndex, lock: u64, kind: LockKind) -> Owner {
    let off = match kind {
        LockKind::Mutex => l.mutex_owner,
        LockKind::RwSemaphore => l.rwsem_owner,
        LockKind::Semaphore => return Owner::None,
    };
    let Ok(v) = k.read_u64(lock.wrapping_add(off)) else {
        return Owner::Unreadable;
    };
    let flags = v & 7;
    let task = v & !7;
    if task == 0 {
        return Owner::None;
    }
    match idx.get(task) {
        Some(_) => Owner::Task {
            task,
            flags,
            readers: kind == LockKind::RwSemaphore && flags & 1 != 0,
        },
        None => Owner::NotATask { value: v },
    }
}

/// Offsets of a completion and of the wait queue entry its waiter puts on its stack (BTF,
/// else the layout without lock debugging: `struct completion { done; wait }`, the wait
/// queue's list head at 16 of the completion; 5.x+ `struct swait_queue { task; task_list }`,
/// before them `wait_queue_entry { flags; private; func; entry }`).
#[derive(Debug, Clone)]
pub struct CompletionLayout {
    /// Offset of the wait queue's list head in `struct completion`.
    pub head: u64,
    /// Candidate (offset of the task pointer, offset of the list node) of the waiter entry.
    pub waiters: Vec<(u64, u64)>,
}

impl CompletionLayout {
    pub fn of(k: &Kernel) -> CompletionLayout {
        let b = k.btf();
        let o = |s: &str, m: &str| b.and_then(|b| b.member_offset(s, m));
        let wait = o("completion", "wait");
        let head = wait.and_then(|w| {
            o("swait_queue_head", "task_list")
                .or_else(|| o("wait_queue_head", "head"))
                .map(|h| w + h)
        });
        // The wait queue's type says which entry its waiters put on their stacks.
        let head_type = b.and_then(|b| {
            let (_, ty, _) = b.member("completion", "wait")?;
            Some(b.name(b.resolve(ty)).to_string())
        });
        let mut waiters = Vec::new();
        if let (Some(t), Some(n), None | Some("swait_queue_head")) = (
            o("swait_queue", "task"),
            o("swait_queue", "task_list"),
            head_type.as_deref(),
        ) {
            waiters.push((t, n));
        }
        if let (Some(t), Some(n), None | Some("wait_queue_head")) = (
            o("wait_queue_entry", "private"),
            o("wait_queue_entry", "entry"),
            head_type.as_deref(),
        ) {
            waiters.push((t, n));
        }
        if waiters.is_empty() {
            waiters = vec![(0, 8), (8, 24)];
        }
        CompletionLayout {
            head: head.unwrap_or(16),
            waiters,
        }
    }
}

/// A completion a task waits for: its address and its `done` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitedCompletion {
    pub addr: u64,
    pub done: u32,
}

/// The completion a task sleeping in `wait_for_completion()` waits for: the wait queue entry
/// on its stack (a word equal to the task's own address at the entry's task slot) whose list
/// ring holds one node that is no waiter on a task's stack: the completion's wait queue head.
/// A task only sleeps there while `done` is 0, so a completion whose `done` is not 0 is no
/// answer. Bounded by the stack's words and the ring's length.
pub fn waited_completion(
    k: &Kernel,
    cl: &CompletionLayout,
    idx: &TaskIndex,
    t: &Task,
) -> Option<WaitedCompletion> {
    let (base, words) = stack_words(k, t)?;
    for (i, &w) in words.iter().enumerate() {
        if w != t.addr {
            continue;
        }
        let at = base + 8 * i as u64;
        for &(task_off, list_off) in &cl.waiters {
            let Some(node) = (at + list_off).checked_sub(task_off) else {
                continue;
            };
            let rel = task_off as i64 - list_off as i64;
            let Some((_, Some(head))) = ring_with(k, idx, node, rel) else {
                continue;
            };
            let Some(addr) = head.checked_sub(cl.head) else {
                continue;
            };
            if let Ok(done) = k.read_u32(addr) {
                if done == 0 {
                    return Some(WaitedCompletion { addr, done });
                }
            }
        }
    }
    None
}

/// A page a task waits for in `folio_wait_bit_common()` / `wait_on_page_bit_common()`: the
/// `struct page` (a folio's head page) and the flag bit it waits to clear (0, PG_locked, for
/// `lock_page()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageWait {
    #[serde(with = "crate::util::hex")]
    pub page: u64,
    pub pfn: u64,
    pub bit_nr: u32,
    /// The page's `flags` word as the dump holds it.
    #[serde(with = "crate::util::hex::opt")]
    pub flags: Option<u64>,
}

/// The page a task waits for: the `struct wait_page_queue` on its stack (`folio`/`page`,
/// `bit_nr`, then a wait queue entry whose `private` is the task and whose `func` is
/// `wake_page_function`, linked into one of the kernel's page wait queues). Bounded by the
/// stack's words and the ring's length.
pub fn waited_page(k: &Kernel, idx: &TaskIndex, t: &Task) -> Option<PageWait> {
    let b = k.btf();
    let o = |s: &str, m: &str| b.and_then(|b| b.member_offset(s, m));
    let page_off = o("wait_page_queue", "folio")
        .or_else(|| o("wait_page_queue", "page"))
        .unwrap_or(0);
    let bit_off = o("wait_page_queue", "bit_nr").unwrap_or(8);
    let wait_off = o("wait_page_queue", "wait").unwrap_or(16);
    let private = o("wait_queue_entry", "private").unwrap_or(8);
    let func = o("wait_queue_entry", "func").unwrap_or(16);
    let entry = o("wait_queue_entry", "entry").unwrap_or(24);
    let (base, words) = stack_words(k, t)?;
    for (i, &w) in words.iter().enumerate() {
        if w != t.addr {
            continue;
        }
        let Some(wq) = (base + 8 * i as u64).checked_sub(wait_off + private) else {
            continue;
        };
        let e = wq + wait_off;
        let is_wake = k
            .read_u64(e + func)
            .ok()
            .and_then(|f| k.symbols().lookup(f))
            .is_some_and(|(s, off)| off == 0 && s.name.starts_with("wake_page_function"));
        if !is_wake {
            continue;
        }
        let rel = private as i64 - entry as i64;
        if !matches!(ring_with(k, idx, e + entry, rel), Some((_, Some(_)))) {
            continue;
        }
        let Ok(page) = k.read_u64(wq + page_off) else {
            continue;
        };
        let Some(pfn) = k.page_to_pfn(page) else {
            continue;
        };
        let bit_nr = k.read_u32(wq + bit_off).ok()?;
        let flags_off = o("page", "flags").unwrap_or(0);
        return Some(PageWait {
            page,
            pfn,
            bit_nr,
            flags: k.read_u64(page + flags_off).ok(),
        });
    }
    None
}

/// A lock inside a slab object: the cache, the object, the offset in it, and the member of the
/// structure the cache is named after where BTF has it (`signal_cache` -> `struct signal_struct`,
/// member `cred_guard_mutex`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    pub cache: String,
    #[serde(with = "crate::util::hex")]
    pub object: u64,
    pub offset: u64,
    /// `signal_struct.cred_guard_mutex`.
    pub member: Option<String>,
}

/// The member of a structure named like `cache` at `offset` whose type is `kind`'s struct.
fn member_of_kind(k: &Kernel, cache: &str, offset: u64, type_name: &str) -> Option<String> {
    let b = k.btf()?;
    let stem = cache.strip_suffix("_cache").unwrap_or(cache);
    let structs = [
        cache.to_string(),
        stem.to_string(),
        format!("{stem}_struct"),
    ];
    structs.iter().find_map(|st| {
        b.find_struct(st)?;
        let path = b.field_at(st, offset)?;
        let parts: Vec<&str> = path.split('.').collect();
        (1..=parts.len()).find_map(|i| {
            let prefix = parts[..i].join(".");
            let (bits, ty, _) = b.member(st, &prefix)?;
            (bits == offset * 8 && b.name(b.resolve(ty)) == type_name)
                .then(|| format!("{st}.{prefix}"))
        })
    })
}

/// The slab object holding `addr` ([`crate::kernel::slab::find_object`]) and the member of the
/// structure its cache is named after that is a `kind` at that offset. None outside a slab.
pub fn slab_container(k: &Kernel, addr: u64, kind: LockKind) -> Option<Container> {
    slab_container_of(k, addr, kind.type_name())
}

/// [`slab_container`] for an object of the struct named `type_name` (`completion`).
pub fn slab_container_of(k: &Kernel, addr: u64, type_name: &str) -> Option<Container> {
    let o = super::slab::find_object(k, addr)?;
    let member = member_of_kind(k, &o.cache, o.offset, type_name);
    Some(Container {
        cache: o.cache,
        object: o.object,
        offset: o.offset,
        member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(addr: u64, stack: u64, sp: u64) -> Task {
        Task {
            addr,
            pid: 1,
            tgid: 1,
            ppid: 0,
            comm: "t".into(),
            state: 'D',
            cpu: 0,
            sp,
            stack,
            idle: false,
        }
    }

    #[test]
    fn stack_size_follows_the_saved_sp() {
        let s = 0xffffc90000000000;
        assert_eq!(stack_size(&task(1, s, s + 0x3f00)), THREAD_SIZE);
        assert_eq!(stack_size(&task(1, s, s + 0x7f00)), 2 * THREAD_SIZE);
    }
}
