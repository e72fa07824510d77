// The transform queue's scheduling: fair between customers and between a customer's clients,
// per-customer caps, eviction when the whole queue is full, and a draining shutdown. Jobs
// block on gates the test opens, so the order is the pool's, not the scheduler's of the OS.
#include "transform/worker_pool.h"

#include <gtest/gtest.h>

#include "core/clock.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cdn::transform {
namespace {

using namespace std::chrono_literals;
constexpr auto DEADLINE = 30s; // generous: the machine may be loaded

/** Opened once by the test; jobs that wait on it hold their worker until then. */
class Gate {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        opened_.wait(lock, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};

/** Opens the gate when the test ends, before the pool it is declared after is destroyed: a
 *  failed ASSERT then fails the test instead of leaving a worker blocked in the pool's join. */
struct OpenOnExit {
    Gate& gate;
    ~OpenOnExit() { gate.open(); }
};

/** What the pool did with each job, in order: its name when started, "evicted:" + name. */
class Journal {
public:
    void add(std::string entry) {
        {
            std::lock_guard lock(mutex_);
            entries_.push_back(std::move(entry));
        }
        changed_.notify_all();
    }
    /** Waits until `count` entries are in; false at the deadline. */
    bool wait_for(std::size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, DEADLINE, [&] { return entries_.size() >= count; });
    }
    std::vector<std::string> entries() {
        std::lock_guard lock(mutex_);
        return entries_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> entries_;
};

Job job(Journal& journal, const std::string& name, Gate* gate = nullptr) {
    return Job{
        .run =
            [&journal, name, gate] {
                journal.add(name);
                if (gate) {
                    gate->wait();
                }
            },
        .evicted = [&journal, name] { journal.add("evicted:" + name); },
    };
}

std::string name(const std::string& prefix, int i) { return prefix + std::to_string(i); }

/** Where `entry` is in `entries`; entries.size() when absent. */
std::size_t position(const std::vector<std::string>& entries, const std::string& entry) {
    return static_cast<std::size_t>(std::find(entries.begin(), entries.end(), entry) -
                                    entries.begin());
}

class WorkerPoolTest : public ::testing::Test {
protected:
    /** Occupies one worker with a job of `customer` until `gate_` opens. */
    void block_worker(WorkerPool& pool, const std::string& blocker = "blocker",
                      const std::string& customer = "x") {
        const auto before = journal_.entries().size();
        ASSERT_EQ(pool.try_submit({customer, "10.0.0.9"}, job(journal_, blocker, &gate_)),
                  Admission::Queued);
        ASSERT_TRUE(journal_.wait_for(before + 1));
    }

    Gate gate_;
    Journal journal_;
};

TEST_F(WorkerPoolTest, AnotherCustomersJobsStartInTheNextSlotsDespiteAHundredQueued) {
    WorkerPool pool(1, 200, 200);
    block_worker(pool);
    for (int i = 1; i <= 100; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("a", i))),
                  Admission::Queued);
    }
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, name("b", i))),
                  Admission::Queued);
    }
    gate_.open();
    ASSERT_TRUE(journal_.wait_for(104));
    const auto order = journal_.entries();
    // One worker, two customers waiting: they alternate, so B's k-th job is among the next
    // 2k slots although 100 of A's were queued before it.
    for (int k = 1; k <= 3; ++k) {
        EXPECT_LE(position(order, name("b", k)), static_cast<std::size_t>(2 * k)) << k;
    }
    // A's jobs still run in the order they came.
    EXPECT_LT(position(order, "a1"), position(order, "a2"));
    EXPECT_LT(position(order, "a99"), position(order, "a100"));
    pool.shutdown();
    EXPECT_EQ(pool.customers(), 0u) << "per-customer state is dropped once idle";
}

TEST_F(WorkerPoolTest, AFreedWorkerGoesToTheCustomerRunningFewer) {
    Gate second; // before the pool: its jobs wait on it until the pool is gone
    WorkerPool pool(2, 200, 200);
    block_worker(pool, "a-running-1", "a");
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a-running-2", &second)),
              Admission::Queued);
    ASSERT_TRUE(journal_.wait_for(2));
    for (int i = 1; i <= 100; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("a", i), &second)),
                  Admission::Queued);
    }
    ASSERT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, "b1", &second)),
              Admission::Queued);
    gate_.open(); // frees the first worker only
    ASSERT_TRUE(journal_.wait_for(3));
    EXPECT_EQ(journal_.entries()[2], "b1");
    second.open();
}

TEST_F(WorkerPoolTest, ACustomerThatComesBackDoesNotJumpAheadOfOneThatWaited) {
    Gate first; // before the pool: its jobs wait on it until the pool is gone
    WorkerPool pool(1, 100, 100);
    ASSERT_EQ(pool.try_submit({"c", "10.0.0.3"}, job(journal_, "c0", &first)), Admission::Queued);
    ASSERT_TRUE(journal_.wait_for(1));
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a1")), Admission::Queued);
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a2")), Admission::Queued);
    ASSERT_EQ(pool.try_submit({"x", "10.0.0.9"}, job(journal_, "blocker", &gate_)),
              Admission::Queued);
    first.open(); // c0 ends and C, idle, is forgotten; a1 runs, then the blocker
    ASSERT_TRUE(journal_.wait_for(3));
    ASSERT_EQ(journal_.entries(), (std::vector<std::string>{"c0", "a1", "blocker"}));
    // A has waited since a1; C comes back as a new entry and must not go first.
    ASSERT_EQ(pool.try_submit({"c", "10.0.0.3"}, job(journal_, "c1")), Admission::Queued);
    gate_.open();
    ASSERT_TRUE(journal_.wait_for(5));
    EXPECT_EQ(journal_.entries()[3], "a2");
    EXPECT_EQ(journal_.entries()[4], "c1");
}

TEST_F(WorkerPoolTest, ACustomerOverItsQueueCapIsRefusedAndOthersAreNot) {
    WorkerPool pool(1, 100, 3);
    block_worker(pool);
    for (int i = 1; i <= 3; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("a", i))),
                  Admission::Queued);
    }
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a4")),
              Admission::CustomerQueueFull);
    EXPECT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, "b1")), Admission::Queued);
    EXPECT_EQ(pool.refusals().customer_queue, 1u);
    EXPECT_EQ(pool.queued(), 4u);
    gate_.open();
    ASSERT_TRUE(journal_.wait_for(5));
    pool.shutdown();
    const auto order = journal_.entries();
    EXPECT_EQ(position(order, "a4"), order.size()) << "a refused job never runs";
}

TEST_F(WorkerPoolTest, AFullQueueEvictsTheNewestJobOfTheHeaviestCustomer) {
    WorkerPool pool(1, 4, 100);
    block_worker(pool);
    for (int i = 1; i <= 4; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("a", i))),
                  Admission::Queued);
    }
    // B holds nothing: below its share (4 / 2), it takes the place of A's newest job.
    EXPECT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, "b1")), Admission::Queued);
    EXPECT_EQ(journal_.entries().back(), "evicted:a4");
    // A, at its share, is refused itself.
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a5")), Admission::QueueFull);
    EXPECT_EQ(pool.try_submit({"c", "10.0.0.3"}, job(journal_, "c1")), Admission::Queued);
    EXPECT_EQ(journal_.entries().back(), "evicted:a3");
    EXPECT_EQ(pool.try_submit({"d", "10.0.0.4"}, job(journal_, "d1")), Admission::Queued);
    EXPECT_EQ(journal_.entries().back(), "evicted:a2");
    // One job each: no one holds more than a newcomer would, so the newcomer is refused.
    EXPECT_EQ(pool.try_submit({"e", "10.0.0.5"}, job(journal_, "e1")), Admission::QueueFull);
    EXPECT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, "b2")), Admission::QueueFull);
    EXPECT_EQ(pool.queued(), 4u);
    const auto refused = pool.refusals();
    EXPECT_EQ(refused.evicted, 3u);
    EXPECT_EQ(refused.global, 3u);
    gate_.open();
    pool.shutdown();
    auto ran = journal_.entries();
    ran.erase(ran.begin(), ran.begin() + 4); // the blocker and the three evictions
    std::sort(ran.begin(), ran.end());
    EXPECT_EQ(ran, (std::vector<std::string>{"a1", "b1", "c1", "d1"}));
}

TEST_F(WorkerPoolTest, InsideACustomerTheClientWithTheMostJobsWaitsAndIsEvictedFirst) {
    WorkerPool pool(1, 100, 4);
    block_worker(pool);
    for (int i = 1; i <= 4; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("heavy", i))),
                  Admission::Queued);
    }
    // The customer's queue is full, but this client holds none of it: the heavy client's
    // newest job makes room.
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.2"}, job(journal_, "light1")), Admission::Queued);
    EXPECT_EQ(journal_.entries().back(), "evicted:heavy4");
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.2"}, job(journal_, "light2")), Admission::Queued);
    EXPECT_EQ(journal_.entries().back(), "evicted:heavy3");
    // Now each holds its share (2 of 4): both are refused.
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "heavy5")),
              Admission::CustomerQueueFull);
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.2"}, job(journal_, "light3")),
              Admission::CustomerQueueFull);
    gate_.open();
    ASSERT_TRUE(journal_.wait_for(7));
    pool.shutdown();
    const auto order = journal_.entries();
    // The two clients take turns at the customer's slots (after the blocker and evictions).
    EXPECT_LE(position(order, "light1"), 4u);
    EXPECT_LE(position(order, "light2"), 6u);
}

TEST_F(WorkerPoolTest, AReservationHoldsAQueuePlaceUntilItsJobIsSubmittedOrItIsDropped) {
    WorkerPool pool(1, 2, 2);
    block_worker(pool);
    Reservation first;
    Reservation second;
    Reservation third;
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, first), Admission::Queued);
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, second), Admission::Queued);
    EXPECT_TRUE(first.held());
    // Both places are held while nothing is queued yet: a third miss is refused before it
    // reads its original.
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, third), Admission::CustomerQueueFull);
    EXPECT_FALSE(third.held());
    EXPECT_EQ(pool.queued(), 0u);
    // A job takes its own place, not another one.
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a1"), &first), Admission::Queued);
    EXPECT_FALSE(first.held());
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, third), Admission::CustomerQueueFull);
    {
        const Reservation dropped = std::move(second); // its original was not found, say
    }
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, third), Admission::Queued);
    EXPECT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, "a2"), &third), Admission::Queued);
    EXPECT_EQ(pool.queued(), 2u);
    gate_.open();
    pool.shutdown();
    EXPECT_EQ(journal_.entries().size(), 3u) << "the blocker and both submitted jobs ran";
    EXPECT_EQ(pool.customers(), 0u) << "no state is left for a customer whose places are gone";
}

TEST_F(WorkerPoolTest, AReservationThatOnlyADisplacementWouldFreeIsNotHeldAndEvictsNothing) {
    WorkerPool pool(1, 4, 2);
    block_worker(pool);
    for (int i = 1; i <= 2; ++i) {
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"}, job(journal_, name("a", i))),
                  Admission::Queued);
    }
    Reservation place;
    // A's queue is full: refused for its heavy client, counted once.
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, place), Admission::CustomerQueueFull);
    EXPECT_EQ(pool.refusals().customer_queue, 1u);
    EXPECT_FALSE(place.held());
    // Another client of A's would displace a2 on submit: Queued, but no place is held and
    // nothing is evicted until try_submit decides again.
    EXPECT_EQ(pool.reserve({"a", "10.0.0.2"}, place), Admission::Queued);
    EXPECT_FALSE(place.held());
    EXPECT_EQ(pool.refusals().evicted, 0u);
    EXPECT_EQ(pool.queued(), 2u);
    gate_.open();
    pool.shutdown();
    EXPECT_EQ(journal_.entries().size(), 3u) << "the blocker and both queued jobs ran";
}

/** Held short, a flooding client of customer "a" has one job running and one queued: weighed by
 *  queued jobs alone it weighed what a visitor with one miss does, and the visitor was refused
 *  (issue 20). The visitor, of `visitor_customer`, takes the queued job's place. */
void expect_a_visitor_takes_the_floods_one_place(WorkerPool& pool, Journal& journal,
                                                  Gate& gate, const std::string& visitor_customer) {
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.9"}, job(journal, "flood0", &gate)),
              Admission::Queued);
    ASSERT_TRUE(journal.wait_for(1));
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.9"}, job(journal, "flood1")), Admission::Queued);
    EXPECT_EQ(pool.try_submit({visitor_customer, "10.0.0.2"}, job(journal, "visitor1")),
              Admission::Queued);
    EXPECT_EQ(journal.entries().back(), "evicted:flood1");
    // Now neither holds more than the other would after a swap: no ping-pong.
    EXPECT_NE(pool.try_submit({visitor_customer, "10.0.0.2"}, job(journal, "visitor2")),
              Admission::Queued);
    gate.open();
    ASSERT_TRUE(journal.wait_for(3));
    pool.shutdown();
    EXPECT_EQ(journal.entries().back(), "visitor1");
}

TEST_F(WorkerPoolTest, OnAShortQueueAVisitorTakesTheFloodsOnePlaceThoughItHasOnlyOneQueued) {
    WorkerPool pool(1, 1, 16);
    const OpenOnExit opener{gate_};
    expect_a_visitor_takes_the_floods_one_place(pool, journal_, gate_, "b");
}

TEST_F(WorkerPoolTest, InsideACustomerAVisitorTakesAFloodingClientsOnePlace) {
    WorkerPool pool(1, 64, 1);
    const OpenOnExit opener{gate_};
    expect_a_visitor_takes_the_floods_one_place(pool, journal_, gate_, "a");
}

TEST_F(WorkerPoolTest, AHeldPlaceIsTakenBackForALighterClientAndItsSubmitIsDecidedAgain) {
    // Submitted after it was taken back, or dropped (its original was not found, say).
    for (const bool submitted : {true, false}) {
        Gate gate;
        Journal journal;
        WorkerPool pool(1, 1, 16);
        const OpenOnExit opener{gate};
        ASSERT_EQ(pool.try_submit({"a", "10.0.0.9"}, job(journal, "flood0", &gate)),
                  Admission::Queued);
        ASSERT_TRUE(journal.wait_for(1));
        Reservation flood;
        ASSERT_EQ(pool.reserve({"a", "10.0.0.9"}, flood), Admission::Queued);
        ASSERT_TRUE(flood.held());
        // The only place is held while the flood's original is read: a visitor takes it back.
        EXPECT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal, "visitor")), Admission::Queued);
        EXPECT_EQ(pool.refusals().evicted, 1u);
        if (submitted) {
            // Decided as a newcomer's, and the queue is full.
            EXPECT_EQ(pool.try_submit({"a", "10.0.0.9"}, job(journal, "flood1"), &flood),
                      Admission::QueueFull);
        } else {
            const Reservation dropped = std::move(flood);
        }
        EXPECT_FALSE(flood.held());
        gate.open();
        pool.shutdown();
        EXPECT_EQ(journal.entries(), (std::vector<std::string>{"flood0", "visitor"}));
        EXPECT_EQ(pool.customers(), 0u) << "no state is left once the revoked place ends";
    }
}

TEST_F(WorkerPoolTest, AJobIsAnsweredOnlyOnceThePoolNoLongerCountsIt) {
    // The client's next miss may arrive as soon as this one is answered; counted as still
    // running, it weighed the client as heavier than it is.
    WorkerPool pool(1, 4, 4);
    std::atomic<int> running_when_answered{-1};
    std::atomic<std::size_t> customers_when_answered{99};
    ASSERT_EQ(pool.try_submit({"a", "10.0.0.1"},
                              Job{.run = [] {},
                                  .evicted = [] {},
                                  .finished =
                                      [&] {
                                          customers_when_answered = pool.customers();
                                          running_when_answered =
                                              static_cast<int>(pool.running());
                                          journal_.add("answered");
                                      }}),
              Admission::Queued);
    ASSERT_TRUE(journal_.wait_for(1));
    pool.shutdown();
    EXPECT_EQ(running_when_answered, 0);
    EXPECT_EQ(customers_when_answered, 0u);
}

TEST_F(WorkerPoolTest, ShutdownRunsEveryQueuedJobThenRefusesNewOnes) {
    Gate second; // before the pool: its jobs wait on it until the pool is gone
    WorkerPool pool(2, 100, 100);
    block_worker(pool);
    block_worker(pool, "blocker2");
    for (int i = 1; i <= 10; ++i) {
        ASSERT_EQ(pool.try_submit({name("c", i % 3), "10.0.0.1"}, job(journal_, name("j", i))),
                  Admission::Queued);
    }
    std::thread stopper([&pool] { pool.shutdown(); });
    // Shutting down is seen by a submit; what was queued before, these probes included, must
    // still all run.
    std::size_t probes_queued = 0;
    const auto until = std::chrono::steady_clock::now() + DEADLINE;
    Admission probe = Admission::Queued;
    while (probe != Admission::Stopping && std::chrono::steady_clock::now() < until) {
        probe = pool.try_submit({"late", "10.0.0.1"}, job(journal_, "late"));
        probes_queued += probe == Admission::Queued ? 1 : 0;
        std::this_thread::yield();
    }
    ASSERT_EQ(probe, Admission::Stopping);
    gate_.open();
    stopper.join();
    const auto order = journal_.entries();
    EXPECT_EQ(order.size(), 12u + probes_queued);
    for (int i = 1; i <= 10; ++i) {
        EXPECT_LT(position(order, name("j", i)), order.size()) << i;
    }
    EXPECT_EQ(pool.queued(), 0u);
    EXPECT_EQ(pool.customers(), 0u);
}

TEST_F(WorkerPoolTest, EveryJobIsRunEvictedOrRefusedExactlyOnceUnderConcurrentSubmits) {
    WorkerPool pool(2, 8, 3);
    std::atomic<int> ran{0}, evicted{0}, refused{0};
    constexpr int THREADS = 4, EACH = 500;
    std::vector<std::thread> submitters;
    for (int t = 0; t < THREADS; ++t) {
        submitters.emplace_back([&, t] {
            for (int i = 0; i < EACH; ++i) {
                const JobOwner owner{name("c", (t * 7 + i) % 5), name("10.0.0.", i % 3)};
                Job counted{.run = [&ran] { ++ran; }, .evicted = [&evicted] { ++evicted; }};
                if (pool.try_submit(owner, std::move(counted)) != Admission::Queued) {
                    ++refused;
                }
            }
        });
    }
    for (auto& s : submitters) {
        s.join();
    }
    pool.shutdown();
    EXPECT_EQ(ran + evicted + refused, THREADS * EACH);
    const auto counts = pool.refusals();
    EXPECT_EQ(static_cast<std::uint64_t>(evicted.load()), counts.evicted);
    EXPECT_EQ(static_cast<std::uint64_t>(refused.load()), counts.customer_queue + counts.global);
    EXPECT_EQ(pool.customers(), 0u);
}

/** Time the test moves by hand. */
class ManualClock final : public core::Clock {
public:
    std::chrono::system_clock::time_point system_now() const override { return {}; }
    std::chrono::steady_clock::time_point steady_now() const override { return now_; }
    void advance(std::chrono::milliseconds by) { now_ += by; }

private:
    std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

class StandingQueueTest : public WorkerPoolTest {
protected:
    Admission submit(WorkerPool& pool, const std::string& customer, int i) {
        return pool.try_submit({customer, "10.0.0.1"}, job(journal_, name(customer, i)));
    }
    /** Queues jobs 1..count of `customer`, each of which must be taken. */
    void fill(WorkerPool& pool, const std::string& customer, int count) {
        for (int i = 1; i <= count; ++i) {
            ASSERT_EQ(submit(pool, customer, i), Admission::Queued) << customer << i;
        }
    }

    ManualClock clock_;
};

TEST_F(StandingQueueTest, ABurstIsQueuedWholeWhileTheQueueDoesNotStand) {
    WorkerPool pool(1, 64, 16, {500ms, &clock_});
    block_worker(pool);
    ASSERT_NO_FATAL_FAILURE(fill(pool, "a", 12)); // a page's srcset, all at once
    clock_.advance(499ms);
    EXPECT_EQ(submit(pool, "a", 13), Admission::Queued);
    EXPECT_FALSE(pool.is_standing());
    EXPECT_EQ(pool.refusals().evicted, 0u);
    gate_.open();
    pool.shutdown();
    EXPECT_EQ(journal_.entries().size(), 14u) << "every job ran";
}

TEST_F(StandingQueueTest, AQueueThatStandsIsCutToOneJobPerWorkerNewestFirstUntilItDrains) {
    WorkerPool pool(1, 64, 16, {500ms, &clock_});
    block_worker(pool);
    ASSERT_NO_FATAL_FAILURE(fill(pool, "a", 6));
    ASSERT_EQ(submit(pool, "b", 1), Admission::Queued);
    clock_.advance(500ms);
    // More than one job per worker waited for 500 ms: the next arrival finds the queue standing
    // and it is cut to one waiting job (the heaviest customer's newest go first, 503 busy). The
    // newcomer is refused at once: the one place left is another customer's.
    EXPECT_EQ(submit(pool, "c", 1), Admission::QueueFull);
    EXPECT_TRUE(pool.is_standing());
    EXPECT_EQ(pool.queued(), 1u);
    const auto evicted = journal_.entries();
    EXPECT_EQ(evicted.size(), 7u); // the blocker, then six evictions
    for (int i = 2; i <= 6; ++i) {
        EXPECT_LT(position(evicted, "evicted:" + name("a", i)), evicted.size()) << i;
    }
    EXPECT_EQ(pool.refusals().evicted, 6u);
    // Held short even though it holds only one job per worker now (no recovery by being cut).
    clock_.advance(10s);
    EXPECT_EQ(submit(pool, "c", 2), Admission::QueueFull);
    // Drained, it is still held short while the refused may come back (Retry-After: 1 s)...
    gate_.open();
    ASSERT_TRUE(journal_.wait_for(8)); // the job left waiting ran
    clock_.advance(1s);
    EXPECT_EQ(submit(pool, "c", 3), Admission::Queued);
    EXPECT_TRUE(pool.is_standing());
    ASSERT_TRUE(journal_.wait_for(9)); // c3 ran
    // ...and once nobody was refused for that second plus the standing time, a burst is queued
    // whole again.
    clock_.advance(500ms);
    for (int i = 4; i <= 8; ++i) {
        EXPECT_EQ(submit(pool, "c", i), Admission::Queued) << i;
    }
    EXPECT_FALSE(pool.is_standing());
    pool.shutdown();
}

TEST_F(StandingQueueTest, AnArrivalRefusedByItsCustomersCapStillCutsAStandingQueue) {
    // One customer fills its own queue (cap 4) at once; its later arrivals are refused by that
    // cap before the global queue is looked at, and must still find the queue standing.
    WorkerPool pool(1, 64, 4, {500ms, &clock_});
    block_worker(pool);
    ASSERT_NO_FATAL_FAILURE(fill(pool, "a", 4));
    clock_.advance(500ms);
    Reservation place;
    EXPECT_EQ(pool.reserve({"a", "10.0.0.1"}, place), Admission::QueueFull);
    EXPECT_FALSE(place.held());
    EXPECT_TRUE(pool.is_standing());
    EXPECT_EQ(pool.queued(), 1u) << "a2..a4 evicted, a1 kept";
    EXPECT_EQ(pool.refusals().evicted, 3u);
    gate_.open();
    pool.shutdown();
}

TEST_F(StandingQueueTest, AHeldPlaceIsQueuedAtSubmitEvenIfTheQueueStoodMeanwhile) {
    WorkerPool pool(1, 64, 16, {500ms, &clock_});
    const OpenOnExit opener{gate_};
    block_worker(pool);
    ASSERT_NO_FATAL_FAILURE(fill(pool, "a", 2));
    Reservation place;
    ASSERT_EQ(pool.reserve({"b", "10.0.0.2"}, place), Admission::Queued);
    clock_.advance(500ms); // stood while b's original was read
    EXPECT_EQ(pool.try_submit({"b", "10.0.0.2"}, job(journal_, "b1"), &place), Admission::Queued);
    // The next arrival cuts the queue to one, and b1 (the lighter customer's) stays.
    EXPECT_EQ(submit(pool, "c", 1), Admission::QueueFull);
    EXPECT_TRUE(pool.is_standing());
    gate_.open();
    pool.shutdown();
    const auto entries = journal_.entries();
    EXPECT_LT(position(entries, "b1"), entries.size());
    EXPECT_LT(position(entries, "evicted:a1"), entries.size());
    EXPECT_LT(position(entries, "evicted:a2"), entries.size());
}

TEST_F(StandingQueueTest, ZeroTurnsItOff) {
    WorkerPool pool(1, 64, 16, {0ms, &clock_});
    block_worker(pool);
    ASSERT_NO_FATAL_FAILURE(fill(pool, "a", 6));
    clock_.advance(1h);
    EXPECT_EQ(submit(pool, "a", 7), Admission::Queued);
    EXPECT_FALSE(pool.is_standing());
    gate_.open();
    pool.shutdown();
    EXPECT_EQ(journal_.entries().size(), 8u);
}

} // namespace
} // namespace cdn::transform
