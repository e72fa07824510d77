#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"

namespace cdn::transform {

/** Whose job it is: the unit that shares the workers fairly (a customer) and, inside it, the
 *  unit that shares that customer's part (a client address). Opaque strings to the pool. */
struct JobOwner {
    std::string customer;
    std::string client;
};

/** A transform. Exactly one of `run` and `evicted` is called once the job is queued: `run` on
 *  a worker, or `evicted` (on the thread whose submit displaced it) when a lighter customer or
 *  client took its queue place. Neither is called when try_submit refuses the job. After
 *  `run`, `finished` (if set) is called on the worker once the pool no longer counts the job:
 *  the place to answer its request, so that the client's next miss, which may arrive at once,
 *  is not weighed as if this one still ran. */
struct Job {
    std::function<void()> run;
    std::function<void()> evicted;
    std::function<void()> finished;
};

class WorkerPool;

/** When a queue stands (docs/edge-policy.md "Transform queue"): more jobs waiting than there
 *  are workers for `after` without a break. `after` zero: never. */
struct StandingQueue {
    std::chrono::milliseconds after{0};
    const core::Clock* clock = nullptr;
};

/** A queue place held for a job not submitted yet (its original is being read): counted as
 *  queued, so that a burst of misses is refused at once instead of after every one of them
 *  has read its original. try_submit queues its job without deciding again, unless the place
 *  was taken back meanwhile (a lighter client needed it, or a standing queue was cut), as a
 *  queued job can be evicted. Given back when destroyed unless try_submit took it. */
class Reservation {
public:
    Reservation() = default;
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&&) = delete;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation();

    bool held() const { return pool_ != nullptr; }

private:
    friend class WorkerPool;
    WorkerPool* pool_ = nullptr;
    std::string customer_;
    std::string client_;
};

enum class Admission {
    Queued,
    /** The customer already has its `queue_per_customer` jobs waiting. */
    CustomerQueueFull,
    /** The queue is full and this customer holds at least its fair share of it. */
    QueueFull,
    Stopping,
};

/**
 * The transform workers: a fixed set of threads, apart from the HTTP I/O threads, each running
 * one image at a time with one libvips thread, behind a bounded queue. One image per core is
 * the throughput optimum (docs/perf.md); a full queue is refused at once (503 busy) instead
 * of growing latency without bound.
 *
 * The queue is fair between customers, and inside a customer between clients
 * (docs/edge-policy.md "Transform queue"): a free worker takes the oldest job of the customer
 * running the fewest jobs (round robin among equals), and of that customer's client running
 * the fewest. A customer may queue `queue_per_customer` jobs; when the whole queue is full,
 * a customer below its fair share displaces the newest job (or a held place) of the customer
 * holding the most, and the same rule applies between a customer's clients. What one holds
 * is its jobs queued and running and its places held. State is kept only for customers and
 * clients holding something.
 *
 * A burst is queued whole, but a queue that stands (StandingQueue) means more work arrives than
 * the workers do: then only one job per worker may wait, the newest waiting jobs of the
 * heaviest customers beyond that are evicted, and newcomers are refused at once, until the
 * queue drains. A served miss then waits about one transform however many ask.
 */
class WorkerPool {
    friend class Reservation;

public:
    WorkerPool(unsigned workers, std::size_t queue_limit, std::size_t queue_per_customer,
               StandingQueue standing = {});
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /** Finishes queued and running jobs and joins the threads; later submits are refused.
     *  Call while whatever the jobs report to is still alive. Idempotent. */
    void shutdown();

    /** Queues a job, or says why not. The job ends its libvips work itself. A job this one
     *  displaces has its `evicted` called here, after the pool's lock is released. A held
     *  `reservation` of this owner is the job's place: it is queued without deciding again,
     *  unless the place was taken back, and then it is decided as a newcomer. */
    Admission try_submit(const JobOwner& owner, Job job, Reservation* reservation = nullptr);

    /** What try_submit would answer for `owner` now (a refusal is counted); when Queued, also
     *  holds a place in `out` until the job is submitted (or `out` is dropped), so that
     *  preparing the job (reading its original) is only started for jobs the queue has room
     *  for. A place that only a displacement would free is not held: the later try_submit
     *  decides again. */
    Admission reserve(const JobOwner& owner, Reservation& out);

    std::size_t queued() const;
    std::size_t running() const;
    /** Held short because it stood (StandingQueue), until it drains and nobody was refused
     *  for a second (the Retry-After) plus the standing time. */
    bool is_standing() const;
    unsigned workers() const { return static_cast<unsigned>(threads_.size()); }
    /** Customers with jobs queued or running (the per-customer state kept). */
    std::size_t customers() const;

    /** Jobs not run, by reason: refused at submit, or evicted from the queue later. */
    struct Refusals {
        std::uint64_t customer_queue = 0;
        std::uint64_t global = 0;
        std::uint64_t evicted = 0;
    };
    Refusals refusals() const;

    void write_metrics(core::MetricWriter& writer) const;

private:
    struct Client {
        std::string address;
        std::deque<Job> jobs; // oldest first
        std::size_t running = 0;
        /** Places held by its Reservations. */
        std::size_t reserved = 0;
        /** Its Reservations whose places were taken back, not yet submitted or dropped. */
        std::size_t revoked = 0;
        /** When it last had a job started (start_stamp), or arrived (arrival_stamp): round
         *  robin among equals. */
        std::uint64_t last_start = 0;
    };
    struct Customer {
        std::list<Client> clients; // few: at most its queued and running jobs
        std::size_t queued = 0;
        std::size_t running = 0;
        /** Places held by Reservations, counted as queued by admission only. */
        std::size_t reserved = 0;
        std::size_t revoked = 0;
        std::uint64_t last_start = 0;
    };
    // Node-based containers: a running job keeps iterators to its customer and client, which
    // are erased only once they have nothing queued or running.
    using Customers = std::map<std::string, Customer, std::less<>>;
    using Clients = std::list<Client>;
    struct Started {
        Customers::iterator customer;
        Clients::iterator client;
        Job job;
    };

    /** A queued job or held place a newcomer would displace (the client's newest job, or one
     *  of its places when it has none queued). */
    struct Victim {
        Customers::iterator customer;
        Clients::iterator client;
    };
    /** Where a job of `owner` would go: queued (displacing `victim`, if any) or refused. */
    struct Placement {
        Admission admission = Admission::Queued;
        std::optional<Victim> victim;
    };

    void work();
    Placement place(const JobOwner& owner);
    Admission admit(const JobOwner& owner, std::vector<Job>& displaced);
    /** Whether the queue stands now; notes when it was last short. The lock is held. */
    bool standing();
    /** The most jobs that may wait now. */
    std::size_t queue_limit();
    /** When the queue stands, evicts queued jobs down to the short queue. */
    void shed_standing_excess(std::vector<Job>& displaced);
    /** Holds a queue place for `owner` in `out`; the pool's lock is held. */
    void hold(const JobOwner& owner, Reservation& out);
    /** Answers jobs that lost their place; called without the lock. */
    static void answer_evicted(std::vector<Job>& displaced);
    void count_refusal(Admission admission);
    std::optional<Victim> victim_between_clients(Customers::iterator customer,
                                                 const std::string& address);
    std::optional<Victim> victim_between_customers(const std::string& name);
    /** Takes the victim's place: its newest job is returned to be answered, or a held place
     *  is taken back (revoked) and nothing is returned. */
    std::optional<Job> displace(const Victim& victim);
    Job evict_newest(Customers::iterator customer, Clients::iterator client);
    Clients::iterator find_or_add_client(Clients& clients, const std::string& address);
    /** Finds the reservation's client; it is kept while it holds a place. */
    Clients::iterator client_of(Customers::iterator customer, const Reservation& reservation);
    void enqueue(const JobOwner& owner, Job job);
    Started start_next();
    void finish(const Started& started);
    void forget_if_idle(Customers::iterator customer, Clients::iterator client);
    void forget_if_idle(Customers::iterator customer);
    /** Gives a reservation's place back; the pool's lock is held. False when it had been
     *  taken back already (revoked). */
    bool drop_locked(Reservation& reservation);
    void drop(Reservation& reservation);
    std::uint64_t arrival_stamp() const;

    std::size_t queue_limit_;
    std::size_t queue_per_customer_;
    StandingQueue standing_;
    /** When the queue last held no more jobs than there are workers. */
    std::chrono::steady_clock::time_point last_short_{};
    /** Held short since it stood, until it drains. */
    bool is_standing_ = false;
    /** When a job was last refused or evicted while standing. */
    std::chrono::steady_clock::time_point last_refused_{};
    /** The Retry-After the edge sends with 503 busy: when the refused come back. */
    static constexpr std::chrono::seconds REFUSED_COME_BACK{1};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    Customers customers_;
    std::size_t queued_ = 0;
    std::size_t reserved_ = 0;
    std::size_t running_ = 0;
    /** Jobs started so far: the clock of the round robin. */
    std::uint64_t starts_ = 0;
    bool stopping_ = false;
    std::atomic<std::uint64_t> refused_customer_queue_{0};
    std::atomic<std::uint64_t> refused_global_{0};
    std::atomic<std::uint64_t> evicted_{0};
    std::vector<std::thread> threads_;
};

} // namespace cdn::transform
