// plan_migrations (ledger/migrate.hpp): which versions to apply, and the databases to refuse.
#include <gtest/gtest.h>

#include "ledger/migrate.hpp"

namespace taskpoller::ledger {
namespace {

std::vector<migration_script> three() {
    return {{1, "one", "SELECT 1"}, {2, "two", "SELECT 2"}, {3, "three", "SELECT 3"}};
}

std::vector<std::size_t> plan(const std::vector<migration_script>& known,
                              const std::vector<std::int32_t>& applied) {
    auto p = plan_migrations(known, applied);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? *p : std::vector<std::size_t>{};
}

TEST(MigratePlan, AppliesWhatIsMissingInOrder) {
    auto known = three();
    EXPECT_EQ(plan(known, {}), (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(plan(known, {1}), (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(plan(known, {1, 2, 3}), (std::vector<std::size_t>{}));
    // A gap (a version added between releases) is filled.
    EXPECT_EQ(plan(known, {1, 3}), (std::vector<std::size_t>{1}));
    EXPECT_EQ(plan({}, {}), (std::vector<std::size_t>{}));
}

TEST(MigratePlan, RefusesADatabaseOfANewerRelease) {
    auto p = plan_migrations(three(), std::vector<std::int32_t>{1, 2, 3, 4});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("schema version 4 is newer than this taskpoller knows (3)"),
              std::string::npos)
        << p.error().message;
}

TEST(MigratePlan, RefusesAVersionItDoesNotKnow) {
    std::vector<migration_script> known{{1, "one", ""}, {5, "five", ""}};
    auto p = plan_migrations(known, std::vector<std::int32_t>{1, 3});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("version 3"), std::string::npos) << p.error().message;
}

TEST(MigratePlan, RefusesAListThatDoesNotIncrease) {
    std::vector<migration_script> repeated{{1, "one", ""}, {1, "again", ""}};
    EXPECT_FALSE(plan_migrations(repeated, {}));
    std::vector<migration_script> zero{{0, "zero", ""}};
    EXPECT_FALSE(plan_migrations(zero, {}));
    std::vector<migration_script> backwards{{2, "two", ""}, {1, "one", ""}};
    EXPECT_FALSE(plan_migrations(backwards, {}));
}

}  // namespace
}  // namespace taskpoller::ledger
