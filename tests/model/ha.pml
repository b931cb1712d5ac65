/* tests/model/ha.pml - SPIN model of the HA lease protocol (DESIGN.md §5): never two copies.
 *
 * One leader (the scheduler) and three hosts H0..H2, one HA VM, first running on H0. Every
 * host is a witness of the other two (the small-cluster rule of §5.2), so "a majority of the
 * witnesses" means more than half of two: both. The model checks invariant S1 (§5: never two
 * running copies of the VM) under partitions of every shape among {leader, H0, H1, H2},
 * message loss, delay and reordering, host crashes, agent crash+restarts, whole-host freezes
 * and leader restarts, each bounded in number (see run_model.sh for the bounds).
 *
 * Each rule names the DESIGN.md item it models and the C module that implements it:
 *   agent/lease.c         the agent's leader and witness leases, the connected rule (§5.1, §5.2)
 *   agent/fencer.c        the isolation response and its latch (§5.3, §5.11)
 *   agent/witness.c       the witness side: grants, silence, persistent blocks (§5.2, §5.4)
 *   scheduler/core/ha.c   the dead verdict, the new-leader wait, the restart (§5.4, §5.6, §5.7)
 *   the watchdog          the kernel's watchdog device, petted by the agent (§5.3, §5.11)
 *
 * Time. A clock process ticks; a tick is h, the renewal period. Every timer is *relative*
 * (ticks left of a lease, ticks since a host was last heard) and capped where larger values
 * mean the same, so the state space is finite without a time horizon. All clocks run at one
 * rate (§5 bounds drift by ρ; the model takes ρ = 0). Between two ticks any number of the
 * other events happen, in any order. Rounding to ticks is conservative: a host's own
 * deadlines (fence within F, watchdog reset after W) may be met up to a tick late and a
 * silence of D may be counted up to a tick early, never the other way round.
 *
 * Messages. The renewals (RENEW/GRANT with the leader, WRENEW/WGRANT with each witness)
 * travel in rounds: at each tick every running agent sends them and, over a link that is
 * up, each is answered at once, so a lease lasts L from the send. A link that is down loses
 * them. So does a link to or from a frozen host or a dead agent. On top of that, at most
 * MAX_MSG single faults: one request lost, one answer lost (the granter heard the host, the
 * host got no lease), or one request delayed by a tick (it arrives after the next round's
 * requests, reordered, and grants only L - 1). A witness's WSILENT goes with the rounds too
 * (it repeats it every tick; one lost on a link that is down is one of the repeats). START
 * (leader -> host) and registration are events of their own, at any moment while their
 * link is up, or never: arbitrary delay, reordering and loss. Partitions: the six links
 * among {leader, H0, H1, H2} are each up or down; a partition change (MAX_PART of them)
 * picks any of the 64 shapes, taking effect with the next round. A one-way failure is
 * "down" or a lost answer: the receiver hears the sender, which only delays a verdict.
 *
 * Configurations (-D macros; tests/model/run_model.sh runs them):
 *   (none)          the protocol as built: S1 must hold.
 *   REACH_CRASH     assert(false) where the VM starts on another host after H0 crashed: the
 *                   run must fail, which proves that failover happens in the model.
 *   REACH_PARTITION the same with no crash at all: H0 was cut off, fenced itself (and was
 *                   reset by its watchdog), and the VM started elsewhere.
 *   NO_DISK_BLOCKS  mutant: a witness keeps its blocks in memory only (lost on restart).
 *   SHORT_D         mutant: D = L, shorter than L + F + W + margin.
 *   NO_WATCHDOG     mutant: no watchdog; a frozen host that thaws runs its copy for up to F.
 */

/* ---------------------------------------------------------------------------------------
 * Parameters (DESIGN.md §5 timing, in ticks of h) and fault bounds.
 */
#define NH 3                    /* hosts H0..H2 (the events below are written out for 3) */
#ifndef L
#define L 2                     /* lease length; L > h so that renewals overlap */
#endif
#ifndef F
#define F 1                     /* the fencer acts within F */
#endif
#ifndef W
#define W 1                     /* the watchdog resets a host left unpetted for W */
#endif
#ifdef SHORT_D
#define D L                     /* mutant: D < L + F + W + margin */
#endif
#ifndef D
#define D 5                     /* D = L + F + W + margin, margin 1 (§5.4) */
#endif
#ifndef MAXGEN
#define MAXGEN 2                /* highest generation a host may reach by registering */
#endif
#ifndef MAX_PART
#define MAX_PART 2              /* partition changes */
#endif
#ifndef MAX_MSG
#define MAX_MSG 1               /* single lost or delayed renewal messages */
#endif
#ifndef MAX_CRASH
#define MAX_CRASH 1             /* host crashes: every process dies, the VM copy too */
#endif
#ifndef MAX_AGENT
#define MAX_AGENT 1             /* agent crashes (a fresh agent restarts; the VM runs on) */
#endif
#ifndef MAX_FREEZE
#define MAX_FREEZE 1            /* whole-host freezes */
#endif
#ifndef MAX_LEADER
#define MAX_LEADER 1            /* leader restarts */
#endif

#define IDX(a, b) ((a) * NH + (b))
#define P1(i) (((i) + 1) % NH)  /* the two witnesses of host i: every other host */
#define P2(i) (((i) + 2) % NH)

/* ---------------------------------------------------------------------------------------
 * Host state. The agent's generation is the leader's: registration is one handshake.
 */
bool up[NH];            /* powered and booted (false: crashed or reset, not registered yet) */
bool frozen[NH];        /* the whole host is stopped: no process runs, time goes on */
bool agent[NH];         /* the agent process (and its fencer thread) is alive */
byte gen[NH];           /* the host's registered generation */
bool copy[NH];          /* a copy of the HA VM (its QEMU process) exists on the host */
bool latched[NH];       /* agent/fencer.c: fenced since registering; no copy may start */
byte lease[NH];         /* agent/lease.c: ticks left of the leader lease (0: none) */
byte wlease[NH * NH];   /* agent/lease.c: wlease[IDX(a,w)] ticks left of a's lease from w */
byte fage[NH];          /* agent/fencer.c: ticks a fence has been owed (deadline F) */
byte wd[NH];            /* the watchdog: ticks since the agent last petted it */

/* Witness state of the agent of w about each other host a (agent/witness.c). */
byte silent[NH * NH];   /* silent[IDX(w,a)] ticks since w last received a's WRENEW, cap D */
byte wgen[NH * NH];     /* wgen[IDX(w,a)] a's generation in it (0: none since w started) */
byte blocks[NH * NH];   /* blocks[IDX(w,a)] bit g: w has blocked (a, g) on its disk */

/* Leader state (scheduler/core/ha.c). gen, dead and the placement are in the DB and survive
 * a leader restart; leading, heard and report are in memory. */
byte leading;           /* ticks since this leader began leading, cap D (§5.6) */
byte heard[NH];         /* ticks since the leader last heard host a (any message), cap D */
bool dead[NH];          /* generation gen[a] has been declared dead (§5.4, §5.10) */
byte report[NH * NH];   /* report[IDX(a,w)] = g: w's WSILENT(a, g) is on file, g = gen[a] */
byte vm_host;           /* DB placement of the VM: the host ... */
byte vm_gen;            /* ... and the generation it was placed on */

/* The network. links bit i (0..2): leader-Hi; bit 2+a+b: Ha-Hb (a < b). */
byte links;
#define UPL(i)    ((links >> (i)) & 1)
#define UPH(a, b) ((links >> (2 + (a) + (b))) & 1)
/* Renewal exchanges: e = a (a with the leader), e = 3 + 2a + k (a with witness k = 0: P1(a),
 * 1: P2(a)). A single message fault, chosen at a tick: mf = 4e + kind. */
#define LOSE_REQ   1            /* the request is lost */
#define LOSE_REPLY 2            /* the granter hears the host, the answer is lost */
#define DELAY      3            /* the request arrives after the next round */
byte mf;                        /* this tick's message fault (0 none; only inside a tick) */
byte delayed;                   /* 1 + e: exchange e's request of the last round is late */
byte start[NH];         /* start[a] = g: START(vm, g) to a in flight */

/* Faults spent so far; a ghost for the reachability checks. */
byte n_part, n_msg, n_crash, n_agent, n_freeze, n_leader;
bool crashed0;          /* ghost: H0 crashed while its copy ran */

byte fk, fh;            /* this tick's host fault: kind and host (0: none; only in a tick) */
#define K_CRASH        1
#define K_AGENT_DIES   2
#define K_AGENT_BLIP   3        /* the agent dies and a fresh one is back at once */
#define K_AGENT_MISSES 4        /* ... back right after this round */
#define K_AGENT_BACK   5        /* a fresh agent starts where the agent had died */
#define K_FREEZE       6
#define K_THAW         7

byte s0, s1, s2;        /* scratch inside a tick: witnesses connected before the round */
byte hx, hy;            /* scratch inside one atomic step */

/* ---------------------------------------------------------------------------------------
 * Derived predicates.
 */
#define RUNS(i)      (up[i] && agent[i] && !frozen[i])      /* the agent executes */
#define WLEASES(i)   ((wlease[IDX(i, P1(i))] > 0) + (wlease[IDX(i, P2(i))] > 0))

/* agent/lease.c, §5.2: connected while holding the leader lease OR leases from more than
 * half of the witness set. */
#define CONNECTED(i) (lease[i] > 0 || 2 * WLEASES(i) > NH - 1)

/* agent/fencer.c, §5.3: a running agent that is not connected owes a fence. */
#define FENCE_DUE(i) (RUNS(i) && !CONNECTED(i) && !latched[i])
#define FENCE_OVERDUE(i) (FENCE_DUE(i) && fage[i] >= F)

/* Invariant S1 counts copies that run: a frozen host's QEMU runs again only when it thaws. */
#define RUNNING(i)   (copy[i] && !frozen[i])
#define S1           assert(RUNNING(0) + RUNNING(1) + RUNNING(2) <= 1)

/* agent/witness.c: w holds a block for a's current generation. */
#define BLOCKED(w, a) ((blocks[IDX(w, a)] >> gen[a]) & 1)

/* scheduler/core/ha.c, §5.4: a witness counts as silent about a if its WSILENT(a, gen[a])
 * is on file, or if the witness has itself been declared dead. */
#define SILENT_W(a, w) (report[IDX(a, w)] == gen[a] || dead[w])
#define SILENT_WITNESSES(a) (SILENT_W(a, P1(a)) + SILENT_W(a, P2(a)))

/* The placement no longer holds the VM: its generation is dead, or superseded by a new
 * registration (which happens only with no copy on the host: see the Agent). */
#define VM_ORPHANED  (vm_gen != gen[vm_host] || dead[vm_host])
/* A host the leader may start the VM on: generation not dead, heard within D. */
#define LIVE(t)      (!dead[t] && heard[t] < D)

/* The sending host of renewal exchange e. */
#define SENDER(e)    ((e) < NH -> (e) : ((e) - NH) / 2)

/* ---------------------------------------------------------------------------------------
 * Host-wide changes, used by the clock (watchdog), the faults and registration.
 */

/* forget_agent(i): the agent process dies. What it holds only in memory dies with it: the
 * witness timers (agent/witness.c). Blocks are on disk, fsync'ed before any report, and
 * survive, unless the mutant keeps them in memory. The lease expiry and the latch are
 * persisted: a fresh agent assumes no lease it cannot prove (agent/lease.c). Messages to
 * it, and its late request (whose answer no new process would know), are lost. */
inline forget_agent(i) {
    silent[IDX(i, P1(i))] = 0;
    silent[IDX(i, P2(i))] = 0;
    wgen[IDX(i, P1(i))] = 0;
    wgen[IDX(i, P2(i))] = 0;
#ifdef NO_DISK_BLOCKS
    blocks[IDX(i, P1(i))] = 0;
    blocks[IDX(i, P2(i))] = 0;
#endif
    if
    :: delayed != 0 && SENDER(delayed - 1) == i -> delayed = 0
    :: else
    fi;
    start[i] = 0;
    fage[i] = 0
}

/* crash_host(i): power loss, panic or watchdog reset: every process of the host dies, the
 * VM's QEMU with them; the disk (blocks) survives. */
inline crash_host(i) {
    forget_agent(i);
    up[i] = 0;
    frozen[i] = 0;
    agent[i] = 0;
    copy[i] = 0;
    latched[i] = 0;
    lease[i] = 0;
    wlease[IDX(i, P1(i))] = 0;
    wlease[IDX(i, P2(i))] = 0;
    wd[i] = 0
}

/* ---------------------------------------------------------------------------------------
 * Clock: one tick of h. It cannot pass a fencer's deadline (§5.3: within F).
 */
inline dec(v) {
    if
    :: v > 0 -> v--
    :: else
    fi
}

inline count(v, cap) {
    if
    :: v < cap -> v++
    :: else
    fi
}

/* Timers run: leases on the holder's clock (agent/lease.c); the leader's silence timer
 * (scheduler/core/ha.c; a dead generation's is not used); the witnesses' (agent/witness.c;
 * a frozen witness's clock runs too: it sees the gap when it thaws). */
inline tick_timers(i) {
    dec(lease[i]);
    dec(wlease[IDX(i, P1(i))]);
    dec(wlease[IDX(i, P2(i))]);
    if
    :: !dead[i] -> count(heard[i], D)
    :: else
    fi;
    if
    :: wgen[IDX(i, P1(i))] != 0 -> count(silent[IDX(i, P1(i))], D)
    :: else
    fi;
    if
    :: wgen[IDX(i, P2(i))] != 0 -> count(silent[IDX(i, P2(i))], D)
    :: else
    fi
}

/* leader_answers(a, left): scheduler/core/ha.c, §5.1: the leader receives a's RENEW: it has
 * heard a, and answers GRANT if a's generation is not dead; the lease runs `left` more
 * ticks (L from the send). */
inline leader_answers(a, left) {
    if
    :: !dead[a] ->
        heard[a] = 0;
        if
        :: mf != 4 * (a) + LOSE_REPLY && RUNS(a) && lease[a] < left -> lease[a] = left
        :: else
        fi
    :: else
    fi
}

/* leader_round(a): agent/lease.c, §5.1: a running agent sends RENEW every h. */
inline leader_round(a) {
    if
    :: RUNS(a) && UPL(a) && mf != 4 * (a) + LOSE_REQ && mf != 4 * (a) + DELAY ->
        leader_answers(a, L)
    :: RUNS(a) && UPL(a) && mf == 4 * (a) + DELAY -> delayed = 1 + (a)
    :: else
    fi
}

/* witness_answers(a, w, e, cw, left): agent/witness.c, §5.2, §5.4: witness w receives
 * WRENEW(a, gen[a]): it records the time (its silence timer about a restarts) and answers
 * WGRANT only while it is itself connected (cw) and holds no block for (a, gen[a]). */
inline witness_answers(a, w, e, cw, left) {
    silent[IDX(w, a)] = 0;
    wgen[IDX(w, a)] = gen[a];
    if
    :: cw && !BLOCKED(w, a) && mf != 4 * (e) + LOSE_REPLY && RUNS(a) &&
       wlease[IDX(a, w)] < left -> wlease[IDX(a, w)] = left
    :: else
    fi
}

/* witness_round(a, w, e, cw): agent/lease.c, §5.2: a running agent sends WRENEW(gen) to
 * each witness every h. */
inline witness_round(a, w, e, cw) {
    if
    :: RUNS(a) && RUNS(w) && UPH(a, w) && mf != 4 * (e) + LOSE_REQ && mf != 4 * (e) + DELAY ->
        witness_answers(a, w, e, cw, L)
    :: RUNS(a) && UPH(a, w) && mf == 4 * (e) + DELAY -> delayed = 1 + (e)
    :: else
    fi
}

/* The request late from the last round arrives (after this round's: reordered) and can
 * only grant L - 1. (This tick's message fault, if any, is for this round's messages.) */
inline late_witness(a, w, cw) {
    if
    :: RUNS(w) && UPH(a, w) -> witness_answers(a, w, 99, cw, L - 1)
    :: else
    fi
}

/* agent/witness.c, §5.4: a silent for D: first write the block (a, g) to disk (fsync),
 * then report WSILENT(a, g) to the leader, again at every tick while a stays silent (a
 * report lost on a link that is down is one of the repeats). scheduler/core/ha.c: the
 * report goes on file if g is a's current generation; it is also a message from w. */
inline witness_report(w, a) {
    if
    :: RUNS(w) && silent[IDX(w, a)] >= D && wgen[IDX(w, a)] != 0 ->
        blocks[IDX(w, a)] = blocks[IDX(w, a)] | (1 << wgen[IDX(w, a)]);
        if
        :: UPL(w) ->
            if
            :: !dead[w] -> heard[w] = 0
            :: else
            fi;
            if
            :: wgen[IDX(w, a)] == gen[a] && !dead[a] -> report[IDX(a, w)] = gen[a]
            :: else
            fi
        :: else
        fi
    :: else
    fi
}

/* tick_host(i), after the round. */
inline tick_host(i) {
    /* The watchdog (§5.3, §5.11): the agent pets it only while it runs and is connected;
     * unpetted for more than W ticks, the kernel resets the host. */
#ifndef NO_WATCHDOG
    if
    :: up[i] && RUNS(i) && CONNECTED(i) -> wd[i] = 0
    :: up[i] && !(RUNS(i) && CONNECTED(i)) ->
        wd[i]++;
        if
        :: wd[i] > W -> crash_host(i)
        :: else
        fi
    :: else
    fi;
#endif
    /* agent/fencer.c: count the ticks a fence has been owed. */
    if
    :: FENCE_DUE(i) -> count(fage[i], F)
    :: else -> fage[i] = 0
    fi
}

/* host_fault(i): the fault chosen for this tick, at its start. Faults are placed at ticks:
 * between two rounds nobody else observes a fault of host i (the leader, at most, resends a
 * START the fault lost, which it may as well do after the tick), so only its position
 * among the rounds matters, and the search need not try every moment between them.
 *   crash: power loss or panic: every process dies, the VM copy too; the disk survives.
 *   the agent (and its fencer thread) dies; the VM's QEMU runs on. It stays dead (the
 *     watchdog resets the host after W unless a fresh agent is back first), or a fresh
 *     agent is back at once, or right after this round (missing it) (§5.11).
 *   freeze (kernel stall): nothing on the host runs, not even the fencer; time goes on
 *     elsewhere and for the watchdog. thaw: it runs again; its fencer notices within F. */
inline host_fault(i) {
    if
    :: fk == K_CRASH -> crashed0 = crashed0 || (i == 0 && copy[0]); crash_host(i)
    :: fk == K_AGENT_DIES || fk == K_AGENT_BLIP || fk == K_AGENT_MISSES ->
        agent[i] = 0;
        forget_agent(i)
    :: fk == K_FREEZE -> frozen[i] = 1
    :: fk == K_THAW -> frozen[i] = 0; fage[i] = 0
    :: else
    fi;
    if
    :: fk == K_AGENT_BACK || fk == K_AGENT_BLIP -> agent[i] = 1
    :: else
    fi
}

/* show_tick(): the state at the start of a tick, one line per host, printed when a
 * counterexample is replayed (spin -t), as are the "event:" lines; verification skips
 * printf. With the symmetry reduction on, H1 and H2 may trade places at a tick. */
inline show_host(i) {
    printf("  H%d up=%d agent=%d frozen=%d copy=%d latched=%d gen=%d dead=%d lease=%d ", i,
           up[i], agent[i], frozen[i], copy[i], latched[i], gen[i], dead[i], lease[i]);
    printf("wl=%d,%d heard=%d silentTo=%d,%d blocks=%d,%d\n", wlease[IDX(i, P1(i))],
           wlease[IDX(i, P2(i))], heard[i], silent[IDX(P1(i), i)], silent[IDX(P2(i), i)],
           blocks[IDX(P1(i), i)], blocks[IDX(P2(i), i)])
}

inline show_tick() {
    printf("tick: links=%d vm=H%d/g%d fault=%d/H%d msgfault=%d leading=%d\n", links, vm_host,
           vm_gen, fk, fh, mf, leading);
    show_host(0); show_host(1); show_host(2)
}

inline tick() {
    show_tick();
    if
    :: fk != 0 -> host_fault(fh)
    :: else
    fi;
    count(leading, D);
    tick_timers(0); tick_timers(1); tick_timers(2);
    /* The renewal round. The leader answers first (a request late from the last round
     * after this round's: reordered), then every witness, each deciding on whether it was
     * connected once its own leader lease was renewed. */
    hx = delayed;
    delayed = 0;
    leader_round(0); leader_round(1); leader_round(2);
    if
    :: hx >= 1 && hx <= NH && UPL(hx - 1) -> leader_answers(hx - 1, L - 1)
    :: else
    fi;
    s0 = CONNECTED(0); s1 = CONNECTED(1); s2 = CONNECTED(2);
    witness_round(0, 1, 3, s1); witness_round(0, 2, 4, s2);
    witness_round(1, 2, 5, s2); witness_round(1, 0, 6, s0);
    witness_round(2, 0, 7, s0); witness_round(2, 1, 8, s1);
    if
    :: hx == 4 -> late_witness(0, 1, s1)
    :: hx == 5 -> late_witness(0, 2, s2)
    :: hx == 6 -> late_witness(1, 2, s2)
    :: hx == 7 -> late_witness(1, 0, s0)
    :: hx == 8 -> late_witness(2, 0, s0)
    :: hx == 9 -> late_witness(2, 1, s1)
    :: else
    fi;
    witness_report(0, 1); witness_report(0, 2);
    witness_report(1, 0); witness_report(1, 2);
    witness_report(2, 0); witness_report(2, 1);
    if
    :: fk == K_AGENT_MISSES -> agent[fh] = 1      /* back right after the round */
    :: else
    fi;
    tick_host(0); tick_host(1); tick_host(2);
    S1;
    s0 = 0; s1 = 0; s2 = 0; hx = 0; hy = 0; mf = 0; fk = 0; fh = 0
}

/* ---------------------------------------------------------------------------------------
 * Symmetry (a reduction of the search, not of the protocol). H1 and H2 are interchangeable:
 * the model treats them alike and S1 does not tell them apart. After each tick, a state in
 * which H1 compares greater than H2 (on the fields below, in order) is replaced by the same
 * state with H1 and H2 exchanged, so both of a mirrored pair are explored as one (about
 * half the states). Off with NO_SYMMETRY (run_model.sh runs one configuration that way).
 */
byte sc, st;            /* scratch: comparison result (1: H1 greater), swap temporary */

inline cmp(x, y) {
    if
    :: sc == 0 && x > y -> sc = 1
    :: sc == 0 && x < y -> sc = 2
    :: else
    fi
}

inline swp(x, y) {
    st = x; x = y; y = st
}

/* SWP_PAIRS(A): exchange H1 and H2 in a pair-indexed array. */
#define SWP_PAIRS(A) \
    swp(A[IDX(0, 1)], A[IDX(0, 2)]); swp(A[IDX(1, 0)], A[IDX(2, 0)]); \
    swp(A[IDX(1, 2)], A[IDX(2, 1)])

/* swp_bits(v, b1, b2): exchange bits b1 and b2 of v. */
inline swp_bits(v, b1, b2) {
    if
    :: ((v >> b1) & 1) != ((v >> b2) & 1) -> v = v ^ ((1 << b1) | (1 << b2))
    :: else
    fi
}

inline canonical() {
    sc = 0;
    cmp(up[1], up[2]); cmp(agent[1], agent[2]); cmp(frozen[1], frozen[2]);
    cmp(copy[1], copy[2]); cmp(latched[1], latched[2]); cmp(gen[1], gen[2]);
    cmp(dead[1], dead[2]); cmp(lease[1], lease[2]); cmp(heard[1], heard[2]);
    cmp(UPL(1), UPL(2)); cmp(UPH(0, 1), UPH(0, 2)); cmp(vm_host == 1, vm_host == 2);
    cmp(start[1], start[2]); cmp(fage[1], fage[2]); cmp(wd[1], wd[2]);
    cmp(wlease[IDX(1, 0)], wlease[IDX(2, 0)]); cmp(wlease[IDX(0, 1)], wlease[IDX(0, 2)]);
    cmp(wlease[IDX(1, 2)], wlease[IDX(2, 1)]);
    cmp(silent[IDX(1, 0)], silent[IDX(2, 0)]); cmp(silent[IDX(0, 1)], silent[IDX(0, 2)]);
    cmp(silent[IDX(1, 2)], silent[IDX(2, 1)]);
    cmp(wgen[IDX(1, 0)], wgen[IDX(2, 0)]); cmp(wgen[IDX(0, 1)], wgen[IDX(0, 2)]);
    cmp(blocks[IDX(1, 0)], blocks[IDX(2, 0)]); cmp(blocks[IDX(0, 1)], blocks[IDX(0, 2)]);
    cmp(report[IDX(1, 0)], report[IDX(2, 0)]); cmp(report[IDX(0, 1)], report[IDX(0, 2)]);
    if
    :: sc == 1 ->
        swp(up[1], up[2]); swp(agent[1], agent[2]); swp(frozen[1], frozen[2]);
        swp(copy[1], copy[2]); swp(latched[1], latched[2]); swp(gen[1], gen[2]);
        swp(dead[1], dead[2]); swp(lease[1], lease[2]); swp(heard[1], heard[2]);
        swp(start[1], start[2]); swp(fage[1], fage[2]); swp(wd[1], wd[2]);
        SWP_PAIRS(wlease); SWP_PAIRS(silent); SWP_PAIRS(wgen); SWP_PAIRS(blocks);
        SWP_PAIRS(report);
        swp_bits(links, 1, 2);          /* leader-H1 <-> leader-H2 */
        swp_bits(links, 3, 4);          /* H0-H1 <-> H0-H2 (H1-H2 maps to itself) */
        if
        :: vm_host == 1 -> vm_host = 2
        :: vm_host == 2 -> vm_host = 1
        :: else
        fi;
        /* the late request: leader exchange 1 <-> 2; (0,1) <-> (0,2); (1,2) <-> (2,1);
         * (1,0) <-> (2,0), as 1 + e */
        if
        :: delayed == 2 -> delayed = 3
        :: delayed == 3 -> delayed = 2
        :: delayed == 4 -> delayed = 5
        :: delayed == 5 -> delayed = 4
        :: delayed == 6 -> delayed = 9
        :: delayed == 9 -> delayed = 6
        :: delayed == 7 -> delayed = 8
        :: delayed == 8 -> delayed = 7
        :: else
        fi
    :: else
    fi;
    sc = 0; st = 0
}

#define TICK_OK (!FENCE_OVERDUE(0) && !FENCE_OVERDUE(1) && !FENCE_OVERDUE(2))

/* The faults of host i a tick may bring (one fault per tick). */
#define HOST_FAULTS(i) \
    :: n_crash < MAX_CRASH && up[i] -> n_crash++; fk = K_CRASH; fh = i \
    :: n_agent < MAX_AGENT && RUNS(i) -> n_agent++; fk = K_AGENT_DIES; fh = i \
    :: n_agent < MAX_AGENT && RUNS(i) -> n_agent++; fk = K_AGENT_BLIP; fh = i \
    :: n_agent < MAX_AGENT && RUNS(i) -> n_agent++; fk = K_AGENT_MISSES; fh = i \
    :: up[i] && !agent[i] && !frozen[i] -> fk = K_AGENT_BACK; fh = i \
    :: n_freeze < MAX_FREEZE && up[i] && !frozen[i] -> n_freeze++; fk = K_FREEZE; fh = i \
    :: frozen[i] -> fk = K_THAW; fh = i

proctype Clock() {
    do
    :: atomic { TICK_OK ->
        if
        :: true
        /* a single lost or delayed renewal message, mf = 4e + kind */
        :: n_msg < MAX_MSG -> n_msg++; select (hx : 0 .. 8); select (hy : 1 .. 3); mf = 4 * hx + hy
        /* a partition change, taking effect with this round: any of the 64 shapes */
        :: n_part < MAX_PART -> n_part++; select (hx : 0 .. 63); links = hx
        HOST_FAULTS(0)
        HOST_FAULTS(1)
        HOST_FAULTS(2)
        /* Leader restart (§5.6): it forgets what it heard, the reports and the grants it
         * made; the DB (generations, verdicts, placement) survives; it waits D before any
         * verdict. Between two rounds, like the hosts' faults. */
        :: n_leader < MAX_LEADER ->
            n_leader++;
            leading = 0;
            heard[0] = 0; heard[1] = 0; heard[2] = 0;
            report[IDX(0, 1)] = 0; report[IDX(0, 2)] = 0;
            report[IDX(1, 0)] = 0; report[IDX(1, 2)] = 0;
            report[IDX(2, 0)] = 0; report[IDX(2, 1)] = 0
        fi;
        d_step {
            tick();
#ifndef NO_SYMMETRY
            canonical()
#endif
        }
       }
    od
}

/* ---------------------------------------------------------------------------------------
 * Leader: scheduler/core/ha.c.
 */

/* §5.4 + §5.6: a is dead when (a) the leader has not heard a for D, (b) more than half of
 * a's witnesses reported it silent for its current generation (or are dead themselves), and
 * (c) this leader has led for D. The verdict goes to the DB: the generation is never
 * granted again. */
inline leader_declare_dead(a) {
    d_step { !dead[a] && leading >= D && heard[a] >= D && 2 * SILENT_WITNESSES(a) > NH - 1 ->
        printf("event: leader declares H%d generation %d dead\n", a, gen[a]);
        dead[a] = 1;
        heard[a] = 0;
        report[IDX(a, P1(a))] = 0;
        report[IDX(a, P2(a))] = 0
    }
}

/* §5.4, §5.7, §5.9: the VM's placement is dead or superseded: place it on live host t (DB
 * first) and send START(vm, gen[t]). */
inline leader_place(t) {
    d_step { VM_ORPHANED && LIVE(t) ->
        printf("event: leader places the VM on H%d generation %d, sends START\n", t, gen[t]);
        vm_host = t;
        vm_gen = gen[t];
        start[t] = gen[t]
    }
}

proctype Leader() {
    do
    :: leader_declare_dead(0)
    :: leader_declare_dead(1)
    :: leader_declare_dead(2)
    :: leader_place(0)
    :: leader_place(1)
    :: leader_place(2)
    /* The leader repeats START until the host reports the VM running (reports are not
     * modelled: it stops once the copy exists). */
    :: d_step { !VM_ORPHANED && !copy[vm_host] && start[vm_host] != vm_gen ->
        start[vm_host] = vm_gen
       }
    od
}

/* ---------------------------------------------------------------------------------------
 * Agent of host i (its renewals and witness answers are in the round above).
 */
proctype Agent(byte i) {
    do
    /* agent/fencer.c, §5.3, §5.11: the fencer, a thread of the agent independent of its main
     * loop and of libvirtd: not connected -> kill the HA VM's QEMU and latch. */
    :: d_step { FENCE_DUE(i) ->
        printf("event: H%d fencer kills its copy (%d) and latches\n", i, copy[i]);
        copy[i] = 0;
        latched[i] = 1;
        fage[i] = 0
       }
    /* §5.11: START(vm, g): the agent starts the VM only for its current generation, while it
     * holds a lease (connected) and its fencer is not latched. */
    :: d_step { RUNS(i) && start[i] != 0 && UPL(i) ->
        if
        :: start[i] == gen[i] && CONNECTED(i) && !latched[i] && !copy[i] ->
            copy[i] = 1;
            printf("event: H%d starts the VM (START for generation %d)\n", i, gen[i]);
#ifdef REACH_CRASH
            assert(!(i != 0 && crashed0));      /* failover after a crash: must be reached */
#endif
#ifdef REACH_PARTITION
            assert(!(i != 0 && !crashed0));     /* ... with no crash at all */
#endif
            S1
        :: else
        fi;
        start[i] = 0
       }
    /* §5.7, §5.11: a latched host, or one back from a crash or reset, registers again and
     * gets generation g+1; the leader forgets what it knew of g. No copy runs on it (the
     * fencer killed it, or the host rebooted). The answer to the registration is its first
     * leader lease. */
    :: d_step { gen[i] < MAXGEN && UPL(i) && (!up[i] || (RUNS(i) && latched[i])) ->
        assert(!copy[i]);
        printf("event: H%d registers again, generation %d\n", i, gen[i] + 1);
        if
        :: delayed != 0 && SENDER(delayed - 1) == i -> delayed = 0
        :: else
        fi;
        gen[i]++;
        up[i] = 1;
        agent[i] = 1;
        latched[i] = 0;
        lease[i] = L;
        wlease[IDX(i, P1(i))] = 0;
        wlease[IDX(i, P2(i))] = 0;
        fage[i] = 0;
        wd[i] = 0;
        dead[i] = 0;
        heard[i] = 0;
        report[IDX(i, P1(i))] = 0;
        report[IDX(i, P2(i))] = 0
       }
    od
}

/* ---------------------------------------------------------------------------------------
 * Initial state: a settled cluster. Every host registered (generation 1) and holding fresh
 * leases from the leader and both witnesses; the VM runs on H0; the leader has led for D;
 * every link is up.
 */
inline init_host(i) {
    up[i] = 1;
    agent[i] = 1;
    gen[i] = 1;
    lease[i] = L;
    wlease[IDX(i, P1(i))] = L;
    wlease[IDX(i, P2(i))] = L;
    wgen[IDX(P1(i), i)] = 1;
    wgen[IDX(P2(i), i)] = 1
}

init {
    atomic {
        init_host(0); init_host(1); init_host(2);
        leading = D;
        links = 63;
        vm_host = 0;
        vm_gen = 1;
        copy[0] = 1;
        run Clock(); run Leader();
        run Agent(0); run Agent(1); run Agent(2)
    }
}
