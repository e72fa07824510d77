// The bytes of originals a node holds for misses in flight: a total, and half of it per
// customer, given back when a hold ends.
#include "edge/original_budget.h"

#include <gtest/gtest.h>

#include <utility>

namespace cdn::edge {
namespace {

TEST(OriginalBudget, ACustomerHoldsAtMostHalfAndTheNodeAtMostTheTotal) {
    OriginalBudget budget(100);
    auto a1 = budget.try_hold("a", 30);
    ASSERT_TRUE(a1);
    auto a2 = budget.try_hold("a", 20);
    ASSERT_TRUE(a2);
    EXPECT_FALSE(budget.try_hold("a", 1)) << "a holds its half";
    auto b1 = budget.try_hold("b", 50);
    ASSERT_TRUE(b1) << "another customer still finds room";
    EXPECT_FALSE(budget.try_hold("c", 1)) << "the node holds its total";
    EXPECT_EQ(budget.held(), 100u);
    {
        const auto ended = std::move(*a1); // a miss answered: its original freed
    }
    EXPECT_EQ(budget.held(), 70u);
    EXPECT_TRUE(budget.try_hold("c", 30));
    EXPECT_EQ(budget.held(), 70u) << "a hold not kept is given back at once";
    EXPECT_EQ(budget.refused(), 2u);
}

TEST(OriginalBudget, ZeroIsNoLimit) {
    OriginalBudget budget(0);
    auto huge = budget.try_hold("a", 1'000'000'000'000);
    EXPECT_TRUE(huge);
    EXPECT_EQ(budget.held(), 0u);
}

} // namespace
} // namespace cdn::edge
