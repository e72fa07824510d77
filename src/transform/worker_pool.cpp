#include "transform/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <utility>

#include "transform/limits.h"
#include "transform/vips_runtime.h"

namespace cdn::transform {

namespace {

/** Who goes next among those waiting: the fewest running, then the longest since a start. */
template <class T>
bool served_less(const T& a, const T& b) {
    return std::tie(a.running, a.last_start) < std::tie(b.running, b.last_start);
}

/** Below its fair share of `total` queued jobs split between `sharing` holders. */
bool below_share(std::size_t mine, std::size_t sharing, std::size_t total) {
    return mine * sharing < total;
}

// What a holder has in the pool: jobs queued, running, and places held while originals are read.
// Counting only queued jobs, a flood on a short queue (one running, one queued) weighed what a
// visitor with one miss does, and the visitor could never take its place.
template <class Client>
std::size_t client_weight(const Client& c) {
    return c.jobs.size() + c.running + c.reserved;
}
template <class Customer>
std::size_t customer_weight(const Customer& c) {
    return c.queued + c.running + c.reserved;
}

/** The heaviest of `holders` with something to give up (a queued job or a held place), or
 *  end(); the first of equals. */
template <class Holders, class Weight, class CanGiveUp>
auto heaviest(Holders& holders, Weight weight, CanGiveUp can_give_up) {
    auto found = holders.end();
    for (auto it = holders.begin(); it != holders.end(); ++it) {
        if (can_give_up(*it) && (found == holders.end() || weight(*it) > weight(*found))) {
            found = it;
        }
    }
    return found;
}

template <class Clients>
auto heaviest_client(Clients& clients) {
    return heaviest(
        clients, [](const auto& c) { return client_weight(c); },
        [](const auto& c) { return !c.jobs.empty() || c.reserved > 0; });
}

template <class Customers>
auto heaviest_customer(Customers& customers) {
    return heaviest(
        customers, [](const auto& c) { return customer_weight(c.second); },
        [](const auto& c) { return c.second.queued > 0 || c.second.reserved > 0; });
}

/** Linux niceness is per thread: transform workers yield a core to the I/O threads, so a
 *  flood of misses that keeps every worker busy does not make cache hits wait for a core. */
constexpr int WORKER_NICENESS = 5;

void lower_this_threads_priority() {
    // Raising one's own niceness is always allowed; if it fails, only hit latency under load
    // is affected.
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), WORKER_NICENESS);
}

} // namespace

WorkerPool::WorkerPool(unsigned workers, std::size_t queue_limit, std::size_t queue_per_customer,
                       StandingQueue standing)
    : queue_limit_(queue_limit), queue_per_customer_(queue_per_customer), standing_(standing) {
    if (standing_.clock == nullptr) {
        standing_.after = std::chrono::milliseconds{0};
    }
    threads_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) {
        threads_.emplace_back([this] { work(); });
    }
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::shutdown() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

Reservation::Reservation(Reservation&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), customer_(std::move(other.customer_)),
      client_(std::move(other.client_)) {}

Reservation::~Reservation() {
    if (pool_ != nullptr) {
        pool_->drop(*this);
    }
}

Admission WorkerPool::try_submit(const JobOwner& owner, Job job, Reservation* reservation) {
    std::vector<Job> displaced;
    Admission admission;
    {
        std::lock_guard lock(mutex_);
        // A held place is this job's: deciding again could refuse it after its original was
        // read (the queue may have stood meanwhile), and a standing queue is cut on the next
        // arrival anyway.
        const bool placed = reservation != nullptr && reservation->pool_ == this &&
                            drop_locked(*reservation) && !stopping_;
        admission = placed ? Admission::Queued : admit(owner, displaced);
        if (admission == Admission::Queued) {
            enqueue(owner, std::move(job));
        }
    }
    if (admission == Admission::Queued) {
        wake_.notify_one();
    }
    answer_evicted(displaced);
    return admission;
}

Admission WorkerPool::reserve(const JobOwner& owner, Reservation& out) {
    std::vector<Job> displaced;
    Admission admission;
    {
        std::lock_guard lock(mutex_);
        // Every arrival checks whether the queue stands, a refused one too: the first misses
        // of an overload fill one customer's queue, and later ones are refused by its cap.
        shed_standing_excess(displaced);
        const auto placement = place(owner);
        count_refusal(placement.admission);
        admission = placement.admission;
        if (admission == Admission::Queued && !placement.victim && !out.held()) {
            hold(owner, out);
        }
    }
    answer_evicted(displaced);
    return admission;
}

void WorkerPool::hold(const JobOwner& owner, Reservation& out) {
    auto [customer, added] = customers_.try_emplace(owner.customer);
    if (added) {
        customer->second.last_start = arrival_stamp();
    }
    ++find_or_add_client(customer->second.clients, owner.client)->reserved;
    ++customer->second.reserved;
    ++reserved_;
    out.pool_ = this;
    out.customer_ = owner.customer;
    out.client_ = owner.client;
}

WorkerPool::Clients::iterator WorkerPool::find_or_add_client(Clients& clients,
                                                             const std::string& address) {
    auto client = std::find_if(clients.begin(), clients.end(),
                               [&](const Client& c) { return c.address == address; });
    if (client == clients.end()) {
        client = clients.insert(clients.end(),
                                Client{.address = address, .last_start = arrival_stamp()});
    }
    return client;
}

void WorkerPool::answer_evicted(std::vector<Job>& displaced) {
    // Outside the lock: it answers the displaced job's request, which may take a lock itself.
    for (auto& job : displaced) {
        if (job.evicted) {
            job.evicted();
        }
    }
}

void WorkerPool::drop(Reservation& reservation) {
    std::lock_guard lock(mutex_);
    drop_locked(reservation);
}

bool WorkerPool::drop_locked(Reservation& reservation) {
    reservation.pool_ = nullptr;
    const auto customer = customers_.find(reservation.customer_);
    // A customer and client holding a place, or a revoked one not yet dropped, are kept.
    const auto client = client_of(customer, reservation);
    // Places of one client are alike: whichever of its reservations ends first answers for
    // the one that was taken back.
    const bool held = client->revoked == 0;
    if (held) {
        --client->reserved;
        --customer->second.reserved;
        --reserved_;
    } else {
        --client->revoked;
        --customer->second.revoked;
    }
    forget_if_idle(customer, client);
    return held;
}

WorkerPool::Clients::iterator WorkerPool::client_of(Customers::iterator customer,
                                                    const Reservation& reservation) {
    auto& clients = customer->second.clients;
    return std::find_if(clients.begin(), clients.end(), [&](const Client& c) {
        return c.address == reservation.client_;
    });
}

Admission WorkerPool::admit(const JobOwner& owner, std::vector<Job>& displaced) {
    shed_standing_excess(displaced);
    const auto placement = place(owner);
    count_refusal(placement.admission);
    if (placement.victim) {
        if (auto job = displace(*placement.victim)) {
            displaced.push_back(std::move(*job));
        }
    }
    return placement.admission;
}

bool WorkerPool::standing() {
    if (standing_.after.count() == 0) {
        return false;
    }
    // Once standing, the queue is held short until it has drained and nobody was refused for
    // the Retry-After the edge sends plus `after`: held short it is never longer than the
    // workers, and the refused come back together a second later, which is the same overload.
    const auto now = standing_.clock->steady_now();
    const auto waiting = queued_ + reserved_;
    if (is_standing_ && waiting == 0 && now - last_refused_ >= REFUSED_COME_BACK + standing_.after) {
        is_standing_ = false;
    }
    if (is_standing_) {
        return true;
    }
    if (waiting <= threads_.size()) {
        last_short_ = now;
        return false;
    }
    is_standing_ = now - last_short_ >= standing_.after;
    return is_standing_;
}

std::size_t WorkerPool::queue_limit() {
    return standing() ? std::min(queue_limit_, threads_.size()) : queue_limit_;
}

void WorkerPool::shed_standing_excess(std::vector<Job>& displaced) {
    // The newest jobs of whoever waits most go first: the same victims as a full queue's.
    const auto idle = threads_.size() - running_;
    while (queued_ + reserved_ > queue_limit() + idle) {
        const auto customer = heaviest_customer(customers_);
        if (auto job = displace({customer, heaviest_client(customer->second.clients)})) {
            displaced.push_back(std::move(*job));
        }
        last_refused_ = standing_.clock->steady_now();
    }
}

void WorkerPool::count_refusal(Admission admission) {
    if (is_standing_ && admission != Admission::Queued) {
        last_refused_ = standing_.clock->steady_now();
    }
    if (admission == Admission::CustomerQueueFull) {
        refused_customer_queue_.fetch_add(1, std::memory_order_relaxed);
    } else if (admission == Admission::QueueFull) {
        refused_global_.fetch_add(1, std::memory_order_relaxed);
    }
}

WorkerPool::Placement WorkerPool::place(const JobOwner& owner) {
    if (stopping_) {
        return {Admission::Stopping};
    }
    // Idle workers take jobs at once: that many more may be in the queue for a moment.
    const auto idle = threads_.size() - running_;
    const auto customer = customers_.find(owner.customer);
    const bool known = customer != customers_.end();
    // Places held for jobs whose originals are being read count as queued.
    const std::size_t mine = known ? customer->second.queued + customer->second.reserved : 0;
    if (mine >= queue_per_customer_ + idle) {
        if (auto victim = known ? victim_between_clients(customer, owner.client) : std::nullopt) {
            return {Admission::Queued, victim};
        }
        return {Admission::CustomerQueueFull};
    }
    if (queued_ + reserved_ < queue_limit() + idle) {
        return {Admission::Queued};
    }
    auto victim = victim_between_customers(owner.customer);
    if (!victim && known) {
        victim = victim_between_clients(customer, owner.client);
    }
    return victim ? Placement{Admission::Queued, victim} : Placement{Admission::QueueFull};
}

std::optional<WorkerPool::Victim> WorkerPool::victim_between_customers(const std::string& name) {
    const auto customer = customers_.find(name);
    const std::size_t mine = customer == customers_.end() ? 0 : customer_weight(customer->second);
    const auto sharing = static_cast<std::size_t>(
        std::count_if(customers_.begin(), customers_.end(),
                      [](const auto& c) { return customer_weight(c.second) > 0; }));
    if (!below_share(mine, sharing + (mine == 0 ? 1 : 0), queued_ + running_ + reserved_)) {
        return std::nullopt;
    }
    const auto victim = heaviest_customer(customers_);
    // Only a swap that leaves the victim at least as heavy as the newcomer: no ping-pong.
    if (victim == customers_.end() || customer_weight(victim->second) <= mine + 1) {
        return std::nullopt;
    }
    return Victim{victim, heaviest_client(victim->second.clients)};
}

std::optional<WorkerPool::Victim>
WorkerPool::victim_between_clients(Customers::iterator customer, const std::string& address) {
    auto& clients = customer->second.clients;
    const auto client = std::find_if(clients.begin(), clients.end(),
                                     [&](const Client& c) { return c.address == address; });
    const std::size_t mine = client == clients.end() ? 0 : client_weight(*client);
    const auto sharing = static_cast<std::size_t>(std::count_if(
        clients.begin(), clients.end(), [](const Client& c) { return client_weight(c) > 0; }));
    if (!below_share(mine, sharing + (mine == 0 ? 1 : 0), customer_weight(customer->second))) {
        return std::nullopt;
    }
    const auto victim = heaviest_client(clients);
    if (victim == clients.end() || client_weight(*victim) <= mine + 1) {
        return std::nullopt;
    }
    return Victim{customer, victim};
}

std::optional<Job> WorkerPool::displace(const Victim& victim) {
    if (!victim.client->jobs.empty()) {
        return evict_newest(victim.customer, victim.client);
    }
    // Its original is still being read: its submit will be decided as a newcomer's.
    --victim.client->reserved;
    ++victim.client->revoked;
    --victim.customer->second.reserved;
    ++victim.customer->second.revoked;
    --reserved_;
    evicted_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
}

Job WorkerPool::evict_newest(Customers::iterator customer, Clients::iterator client) {
    Job job = std::move(client->jobs.back());
    client->jobs.pop_back();
    --customer->second.queued;
    --queued_;
    evicted_.fetch_add(1, std::memory_order_relaxed);
    forget_if_idle(customer, client);
    return job;
}

std::uint64_t WorkerPool::arrival_stamp() const {
    // Just before the latest start (start stamps are even): a newcomer goes ahead of whoever
    // was served last, but behind everyone who has waited since. A customer whose entry was
    // dropped when it went idle cannot come back at the head and starve one that waits.
    return starts_ == 0 ? 0 : 2 * starts_ - 1;
}

void WorkerPool::enqueue(const JobOwner& owner, Job job) {
    auto [customer, added] = customers_.try_emplace(owner.customer);
    if (added) {
        customer->second.last_start = arrival_stamp();
    }
    const auto client = find_or_add_client(customer->second.clients, owner.client);
    client->jobs.push_back(std::move(job));
    ++customer->second.queued;
    ++queued_;
}

WorkerPool::Started WorkerPool::start_next() {
    auto customer = customers_.end();
    for (auto it = customers_.begin(); it != customers_.end(); ++it) {
        if (it->second.queued > 0 &&
            (customer == customers_.end() || served_less(it->second, customer->second))) {
            customer = it;
        }
    }
    auto& clients = customer->second.clients;
    auto client = clients.end();
    for (auto it = clients.begin(); it != clients.end(); ++it) {
        if (!it->jobs.empty() && (client == clients.end() || served_less(*it, *client))) {
            client = it;
        }
    }
    Started started{customer, client, std::move(client->jobs.front())};
    client->jobs.pop_front();
    --customer->second.queued;
    --queued_;
    ++customer->second.running;
    ++client->running;
    ++running_;
    customer->second.last_start = client->last_start = 2 * ++starts_;
    return started;
}

void WorkerPool::finish(const Started& started) {
    --started.customer->second.running;
    --started.client->running;
    --running_;
    forget_if_idle(started.customer, started.client);
}

void WorkerPool::forget_if_idle(Customers::iterator customer, Clients::iterator client) {
    if (client->jobs.empty() && client->running == 0 && client->reserved == 0 &&
        client->revoked == 0) {
        customer->second.clients.erase(client);
    }
    forget_if_idle(customer);
}

void WorkerPool::forget_if_idle(Customers::iterator customer) {
    const auto& c = customer->second;
    if (c.queued == 0 && c.running == 0 && c.reserved == 0 && c.revoked == 0) {
        customers_.erase(customer);
    }
}

void WorkerPool::work() {
    lower_this_threads_priority();
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || queued_ > 0; });
        if (queued_ == 0) {
            return; // stopping with nothing left to do
        }
        auto started = start_next();
        lock.unlock();
        started.job.run();
        auto finished = std::move(started.job.finished);
        started.job = {}; // its captures are released outside the lock
        lock.lock();
        finish(started);
        lock.unlock();
        if (finished) {
            finished();
            finished = {};
        }
        end_vips_job();
        lock.lock();
    }
}

std::size_t WorkerPool::queued() const {
    std::lock_guard lock(mutex_);
    return queued_;
}

bool WorkerPool::is_standing() const {
    std::lock_guard lock(mutex_);
    return is_standing_;
}

std::size_t WorkerPool::running() const {
    std::lock_guard lock(mutex_);
    return running_;
}

std::size_t WorkerPool::customers() const {
    std::lock_guard lock(mutex_);
    return customers_.size();
}

WorkerPool::Refusals WorkerPool::refusals() const {
    return {
        .customer_queue = refused_customer_queue_.load(std::memory_order_relaxed),
        .global = refused_global_.load(std::memory_order_relaxed),
        .evicted = evicted_.load(std::memory_order_relaxed),
    };
}

void WorkerPool::write_metrics(core::MetricWriter& writer) const {
    const auto refused = refusals();
    writer.family("imagecdn_transform_refused_total", "counter",
                  "Transforms answered 503 busy: refused at submit (the customer's queue, or "
                  "the whole queue, full) or evicted from the queue by a lighter customer.");
    writer.sample("imagecdn_transform_refused_total", R"(reason="customer_queue")",
                  static_cast<double>(refused.customer_queue));
    writer.sample("imagecdn_transform_refused_total", R"(reason="global")",
                  static_cast<double>(refused.global));
    writer.sample("imagecdn_transform_refused_total", R"(reason="evicted")",
                  static_cast<double>(refused.evicted));
    writer.single("imagecdn_transform_queued", "gauge", "Transforms waiting for a worker.",
                  static_cast<double>(queued()));
    writer.single("imagecdn_transform_queue_standing", "gauge",
                  "1 while the queue stands and is held at one waiting job per worker.",
                  is_standing() ? 1.0 : 0.0);
    writer.single("imagecdn_transform_customers", "gauge",
                  "Customers with transforms queued or running.", static_cast<double>(customers()));
    writer.single("imagecdn_transforms_in_flight", "gauge", "Transforms running or queued.",
                  static_cast<double>(running() + queued()));
}

} // namespace cdn::transform
