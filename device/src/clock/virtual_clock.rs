//! [`VirtualClock`]: a board twin's clock, moved by the threads that use it rather than by the
//! host's real time (a conservative parallel discrete-event clock).
//!
//! While a measurement window is open, two threads share the clock, each with its own local
//! time:
//! - the **producer** (the thread that opened the window and runs the models) never waits: its
//!   sleeps move its own time at once, and everything the board does up to that time (the
//!   twin's power trace) is published before it moves;
//! - the **observer** (the sampler thread, reading the emulated chip) may only go as far as the
//!   producer has: a sleep until `t` returns once every producer's time has reached `t`, or the
//!   producers are blocked waiting for the observer (so nothing earlier can be published).
//!
//! So the two run in parallel on the host, the readings are exactly those a real board would
//! give at those instants, and they do not depend on how the host schedules the threads: a
//! 2 s window costs the host the real work done in it. A producer that waited for another
//! member (a channel, a join: [`VirtualClock::blocking`]) resumes at the latest time any member
//! reached. Threads that are not enlisted share one global time, which their sleeps move at
//! once, and which a member's time joins when it leaves.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

// (clock id, member id) of every virtual clock the current thread is enlisted with.
thread_local! {
    static ENLISTED: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a member does with the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Publishes the board's activity up to its time; never waits for the clock.
    Producer,
    /// Reads the board's state; waits until the producers have published as far as it reads.
    Observer,
}

/// A clock whose time moves only as its threads say; clones share the same clock.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    id: u64,
    epoch: Instant,
    state: Mutex<State>,
    moved: Condvar,
}

#[derive(Debug)]
struct Member {
    id: u64,
    role: Role,
    local: Duration,
    blocked: bool,
    /// An observer's wake-up time while it waits for the producers.
    waiting_until: Option<Duration>,
}

#[derive(Debug, Default)]
struct State {
    /// Time of the threads that are not enlisted.
    global: Duration,
    members: Vec<Member>,
    next_member: u64,
}

impl State {
    fn member(&mut self, id: u64) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// How far an observer may go: the earliest time of a producer that is not blocked.
    fn horizon(&self) -> Option<Duration> {
        self.members.iter().filter(|m| m.role == Role::Producer && !m.blocked).map(|m| m.local).min()
    }

    /// Whether a waiting observer can now go on (so it is worth waking).
    fn observer_due(&self) -> bool {
        let horizon = self.horizon();
        self.members.iter().filter_map(|m| m.waiting_until).any(|t| horizon.is_none_or(|h| h >= t))
    }

    /// The latest time anyone has reached.
    fn latest(&self) -> Duration {
        self.members.iter().map(|m| m.local).fold(self.global, Duration::max)
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualClock {
    /// A clock standing at its epoch (the host's instant of creation).
    pub fn new() -> Self {
        let shared = Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: Instant::now(),
            state: Mutex::new(State::default()),
            moved: Condvar::new(),
        };
        Self { shared: Arc::new(shared) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a few field writes, so a lock poisoned by a panicking member still
        // holds a consistent state: take it over.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The calling thread's member id on this clock.
    fn membership(&self) -> Option<u64> {
        ENLISTED.with(|e| e.borrow().iter().find(|(clock, _)| *clock == self.shared.id).map(|&(_, m)| m))
    }

    /// The clock's epoch: virtual time zero.
    pub fn epoch(&self) -> Instant {
        self.shared.epoch
    }

    /// The calling thread's virtual time since the epoch.
    pub fn elapsed(&self) -> Duration {
        let member = self.membership();
        let mut state = self.lock();
        match member.and_then(|id| state.member(id)) {
            Some(m) => m.local,
            None => state.global,
        }
    }

    /// The calling thread's current virtual instant.
    pub fn now(&self) -> Instant {
        self.shared.epoch + self.elapsed()
    }

    /// Sleeps until `at`: at once for a producer or a thread that is not enlisted, once the
    /// producers got there for an observer.
    pub fn sleep_until(&self, at: Instant) {
        let target = at.saturating_duration_since(self.shared.epoch);
        let member = self.membership();
        let mut state = self.lock();
        let Some(id) = member else {
            state.global = state.global.max(target);
            return;
        };
        let Some(m) = state.member(id) else { return };
        if m.role == Role::Producer {
            m.local = m.local.max(target);
            if state.observer_due() {
                self.shared.moved.notify_all();
            }
            return;
        }
        m.waiting_until = Some(target);
        while state.horizon().is_some_and(|h| h < target) {
            state = self.shared.moved.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(m) = state.member(id) {
            m.local = m.local.max(target);
            m.waiting_until = None;
        }
    }

    /// Runs `f`, which blocks until another member acts (a channel receive, a thread join).
    /// A producer does not hold observers back meanwhile, and resumes at the latest time any
    /// member reached.
    pub fn blocking<R>(&self, f: impl FnOnce() -> R) -> R {
        let Some(id) = self.membership() else { return f() };
        self.set_blocked(id, true);
        let result = f();
        let mut state = self.lock();
        let latest = state.latest();
        if let Some(m) = state.member(id).filter(|m| m.blocked) {
            m.blocked = false;
            m.local = latest;
        }
        result
    }

    /// Called by a member about to wake a producer blocked on it (a message it sends): the
    /// producer resumes at the caller's time, and from now on holds observers back again.
    pub fn release_producers(&self) {
        let Some(id) = self.membership() else { return };
        let mut state = self.lock();
        let Some(at) = state.member(id).map(|m| m.local) else { return };
        for m in state.members.iter_mut().filter(|m| m.role == Role::Producer && m.blocked) {
            m.blocked = false;
            m.local = m.local.max(at);
        }
    }

    fn set_blocked(&self, id: u64, blocked: bool) {
        if let Some(m) = self.lock().member(id) {
            m.blocked = blocked;
        }
        self.shared.moved.notify_all();
    }

    /// Enlists the calling thread in `role` until the returned guard drops (on this thread);
    /// it starts at the latest time any thread reached.
    pub fn enlist(&self, role: Role) -> Enlistment {
        if self.membership().is_some() {
            return Enlistment { clock: None, _not_send: PhantomData };
        }
        let mut state = self.lock();
        let id = state.next_member;
        state.next_member += 1;
        let local = state.latest();
        state.members.push(Member { id, role, local, blocked: false, waiting_until: None });
        drop(state);
        ENLISTED.with(|e| e.borrow_mut().push((self.shared.id, id)));
        Enlistment { clock: Some((self.clone(), id)), _not_send: PhantomData }
    }
}

/// A thread's membership of a [`VirtualClock`]; leaving hands its time to the global time.
#[derive(Debug)]
#[must_use = "the thread leaves the clock when the enlistment drops"]
pub struct Enlistment {
    clock: Option<(VirtualClock, u64)>,
    /// Membership is per thread: the guard must drop where it was made.
    _not_send: PhantomData<*const ()>,
}

impl Drop for Enlistment {
    fn drop(&mut self) {
        let Some((clock, id)) = self.clock.take() else { return };
        ENLISTED.with(|e| e.borrow_mut().retain(|&(c, m)| (c, m) != (clock.shared.id, id)));
        let mut state = clock.lock();
        if let Some(i) = state.members.iter().position(|m| m.id == id) {
            let member = state.members.swap_remove(i);
            state.global = state.global.max(member.local);
        }
        clock.shared.moved.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lone_sleeper_moves_the_clock_at_once() {
        let clock = VirtualClock::new();
        let started = Instant::now();
        clock.sleep_until(clock.now() + Duration::from_secs(3600));
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        assert!(started.elapsed() < Duration::from_secs(5), "an hour of board time in no host time");
        clock.sleep_until(clock.epoch());
        assert_eq!(clock.elapsed(), Duration::from_secs(3600), "a past instant does not sleep");
    }

    /// An observer thread that sleeps until each of `wakes` (ms) and reports its time.
    fn observer(clock: &VirtualClock, wakes: Vec<u64>) -> (mpsc::Receiver<Duration>, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let clock = clock.clone();
        let handle = std::thread::spawn(move || {
            let _member = clock.enlist(Role::Observer);
            for ms in wakes {
                clock.sleep_until(clock.epoch() + MS * ms as u32);
                tx.send(clock.elapsed()).expect("send");
            }
        });
        (rx, handle)
    }

    #[test]
    fn an_observer_waits_for_the_producer_and_the_producer_never_waits() {
        let clock = VirtualClock::new();
        let _me = clock.enlist(Role::Producer);
        let (rx, handle) = observer(&clock, vec![5, 12]);
        std::thread::sleep(Duration::from_millis(30));
        assert!(rx.try_recv().is_err(), "the producer is still at 0 ms");
        clock.sleep_until(clock.epoch() + MS * 7);
        assert_eq!(clock.elapsed(), MS * 7, "a producer's sleep ends at once");
        assert_eq!(rx.recv().expect("first wake"), MS * 5);
        std::thread::sleep(Duration::from_millis(30));
        assert!(rx.try_recv().is_err(), "12 ms is beyond the producer's 7 ms");
        clock.sleep_until(clock.epoch() + MS * 20);
        assert_eq!(rx.recv().expect("second wake"), MS * 12);
        clock.blocking(|| handle.join()).expect("observer");
        assert_eq!(clock.elapsed(), MS * 20);
    }

    #[test]
    fn a_released_producer_resumes_at_the_releasing_time_and_holds_the_observer_again() {
        let clock = VirtualClock::new();
        let _me = clock.enlist(Role::Producer);
        let (tx, rx) = mpsc::channel();
        let observer = {
            let clock = clock.clone();
            std::thread::spawn(move || {
                let _member = clock.enlist(Role::Observer);
                clock.sleep_until(clock.epoch() + MS * 4);
                clock.release_producers();
                tx.send(()).expect("send");
                clock.sleep_until(clock.epoch() + MS * 9);
                clock.elapsed()
            })
        };
        clock.blocking(|| rx.recv()).expect("released");
        assert_eq!(clock.elapsed(), MS * 4, "resumes where the observer released it");
        std::thread::sleep(Duration::from_millis(30));
        clock.sleep_until(clock.epoch() + MS * 10);
        assert_eq!(clock.blocking(|| observer.join()).expect("observer"), MS * 9);
    }

    #[test]
    fn a_blocked_producer_frees_the_observer_and_resumes_at_its_time() {
        let clock = VirtualClock::new();
        let me = clock.enlist(Role::Producer);
        let (rx, handle) = observer(&clock, vec![3, 9]);
        let times: Vec<Duration> = clock.blocking(|| rx.iter().take(2).collect());
        assert_eq!(times, vec![MS * 3, MS * 9]);
        assert_eq!(clock.elapsed(), MS * 9, "resumes where the observer got");
        clock.blocking(|| handle.join()).expect("observer");
        drop(me);
        assert_eq!(clock.elapsed(), MS * 9, "members' time joins the global time when they leave");
    }
}
