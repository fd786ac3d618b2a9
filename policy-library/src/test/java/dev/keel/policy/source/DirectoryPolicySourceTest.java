package dev.keel.policy.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.IstioPolicy;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PolicyError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryPolicySourceTest {

    /** Short times keep the test fast; the rescan interval is long enough that events, not rescans, drive it. */
    private static final DirectoryPolicySource.Options FAST =
            new DirectoryPolicySource.Options("default", Duration.ofMillis(30), Duration.ofMillis(400));

    @TempDir
    Path dir;

    private DirectoryPolicySource source;

    @AfterEach
    void close() {
        if (source != null) {
            source.close();
        }
    }

    static String allow(String name, String principal) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name + "\n"
                + "  namespace: shop\nspec:\n  rules:\n  - from:\n    - source:\n        principals: [\"" + principal + "\"]\n";
    }

    static final String STRICT = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
            + "metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n";

    private static List<String> names(PolicySet set) {
        return set.policies().stream().map(p -> p.metadata().qualifiedName()).sorted().collect(Collectors.toList());
    }

    private String state() {
        return "current " + source.current() + " " + names(source.current()) + ", errors " + source.errors();
    }

    private void awaitNames(String... names) {
        Await.until("policies " + List.of(names), () -> names(source.current()).equals(List.of(names)), this::state);
    }

    @Test
    void loadsThePolicyFilesOfTheDirectoryAndNothingElse() throws IOException {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        Files.writeString(dir.resolve("mtls.yml"), STRICT);
        Files.writeString(dir.resolve("c.json"), "{\"apiVersion\": \"security.istio.io/v1\", \"kind\": \"AuthorizationPolicy\","
                + " \"metadata\": {\"name\": \"c\"}, \"spec\": {}}");
        // Not read: hidden (editors' temporaries, ConfigMap internals), other extensions, subdirectories.
        Files.writeString(dir.resolve(".a.yaml.swp"), "garbage: [");
        Files.writeString(dir.resolve("notes.txt"), "garbage: [");
        Files.writeString(dir.resolve("a.yaml~"), "garbage: [");
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/d.yaml"), "garbage: [");

        source = DirectoryPolicySource.open(dir, FAST);

        PolicySet set = source.current();
        assertThat(set.isLoaded()).isTrue();
        assertThat(set.version()).isEqualTo(1);
        assertThat(names(set)).containsExactly("default/c", "istio-system/default", "shop/a");
        assertThat(set.policies(PeerAuthentication.class)).hasSize(1);
        assertThat(set.sources()).containsExactly(dir.resolve("a.yaml").toString(), dir.resolve("c.json").toString(),
                dir.resolve("mtls.yml").toString());
        assertThat(set.parsedPolicies()).filteredOn(p -> p.policy() instanceof PeerAuthentication).singleElement()
                .satisfies(p -> assertThat(p.position().line()).isEqualTo(1));
        assertThat(source.errors()).isEmpty();
        assertThat(source.directory()).isEqualTo(dir);
    }

    @Test
    void addModifyAndDeleteAreSeenAndListenersGetEachSetInOrderOnOneThread() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        source = DirectoryPolicySource.open(dir, FAST);
        List<PolicySet> seen = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        source.onChange(set -> {
            maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
            seen.add(set);
            threads.add(Thread.currentThread().getName());
            concurrent.decrementAndGet();
        });
        Await.until("the current set delivered on registration", () -> seen.size() == 1);
        assertThat(seen.get(0).version()).isEqualTo(1);

        Files.writeString(dir.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/b"));
        awaitNames("shop/a", "shop/b");

        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/changed"));
        Await.until("a.yaml's new content", () -> source.current().policies(AuthorizationPolicy.class).stream()
                .anyMatch(p -> p.rules().get(0).from().get(0).principals().contains("cluster.local/ns/shop/sa/changed")),
                this::state);

        Files.delete(dir.resolve("b.yaml"));
        awaitNames("shop/a");

        long last = source.current().version();
        Await.until("the listener to catch up", () -> seen.get(seen.size() - 1).version() == last);
        assertThat(seen).extracting(PolicySet::version).isSorted().doesNotHaveDuplicates();
        assertThat(threads).allSatisfy(t -> assertThat(t).startsWith("keel-policy-listeners-"));
        assertThat(maxConcurrent).hasValue(1);
        assertThat(source.errors()).isEmpty();
    }

    @Test
    void aBadFileKeepsTheWholeLastGoodSetAndIsReportedWithItsLine() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        Files.writeString(dir.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/b"));
        source = DirectoryPolicySource.open(dir, FAST);
        PolicySet good = source.current();

        // b.yaml breaks (line 10: a principal with the scheme), then a new, valid c.yaml appears: it must
        // not be applied while b.yaml is bad.
        Files.writeString(dir.resolve("b.yaml"), allow("b", "spiffe://cluster.local/ns/shop/sa/b"));
        Files.writeString(dir.resolve("c.yaml"), allow("c", "cluster.local/ns/shop/sa/c"));
        Await.until("the error to be reported", () -> !source.errors().isEmpty(), this::state);

        assertThat(source.current()).isSameAs(good);
        PolicyError error = source.errors().get(0);
        assertThat(error.sourceName()).isEqualTo(dir.resolve("b.yaml").toString());
        assertThat(error.line()).isEqualTo(10);
        assertThat(error.fieldPath()).isEqualTo("spec.rules[0].from[0].source.principals[0]");
        assertThat(error.toString()).startsWith(dir.resolve("b.yaml") + ":10:");

        Files.writeString(dir.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/b"));
        awaitNames("shop/a", "shop/b", "shop/c");
        assertThat(source.errors()).isEmpty();
        assertThat(source.current().version()).isEqualTo(good.version() + 1);
    }

    @Test
    void aPolicyDefinedInTwoFilesIsRefused() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        source = DirectoryPolicySource.open(dir, FAST);
        Files.writeString(dir.resolve("copy.yaml"), allow("a", "cluster.local/ns/shop/sa/other"));
        Await.until("the duplicate to be reported", () -> !source.errors().isEmpty(), this::state);
        assertThat(source.errors()).singleElement().asString()
                .contains("copy.yaml:4:").contains("duplicate AuthorizationPolicy shop/a: also defined at")
                .contains("a.yaml:4");
        assertThat(source.current().version()).isEqualTo(1);
    }

    @Test
    void aBadDirectoryAtStartLoadsNothingUntilFixed() throws Exception {
        Path missing = dir.resolve("policies");
        source = DirectoryPolicySource.open(missing, FAST);
        assertThat(source.current().isLoaded()).isFalse();
        assertThat(source.errors()).singleElement().asString().contains("does not exist");

        // The directory appears later: no watch could be registered on it, so the rescan finds it.
        Files.createDirectories(missing);
        Files.writeString(missing.resolve("a.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: a}\nspec:\n  action: DENY\n");
        Await.until("the error in a.yaml", () -> source.errors().stream().anyMatch(e -> e.line() == 5), this::state);
        assertThat(source.current().isLoaded()).isFalse();

        Files.writeString(missing.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        awaitNames("shop/a");
        assertThat(source.current().version()).isEqualTo(1);
        assertThat(source.errors()).isEmpty();
    }

    @Test
    void aConfigMapStyleSymlinkSwapIsOneAtomicChange() throws Exception {
        // kubelet's layout: name -> ..data/name, ..data -> ..<timestamp>, swapped by renaming a new link over ..data.
        Path v1 = Files.createDirectories(dir.resolve("..2024_01_01_00_00_00.1"));
        Files.writeString(v1.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/v1"));
        Files.writeString(v1.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/v1"));
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(dir.resolve("a.yaml"), Path.of("..data/a.yaml"));
        Files.createSymbolicLink(dir.resolve("b.yaml"), Path.of("..data/b.yaml"));
        source = DirectoryPolicySource.open(dir, FAST);
        awaitNames("shop/a", "shop/b");
        List<PolicySet> seen = new CopyOnWriteArrayList<>();
        source.onChange(seen::add);

        Path v2 = Files.createDirectories(dir.resolve("..2024_01_01_00_01_00.2"));
        Files.writeString(v2.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/v2"));
        Files.writeString(v2.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/v2"));
        Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        Files.delete(v1.resolve("a.yaml"));
        Files.delete(v1.resolve("b.yaml"));
        Files.delete(v1);

        Await.until("both files at v2", () -> principals(source.current()).equals(List.of("cluster.local/ns/shop/sa/v2",
                "cluster.local/ns/shop/sa/v2")), this::state);
        assertThat(source.errors()).isEmpty();
        // Never a mix of the two versions.
        Await.until("the listener to catch up", () -> !seen.isEmpty()
                && seen.get(seen.size() - 1).version() == source.current().version());
        assertThat(seen).allSatisfy(set -> assertThat(principals(set)).hasSize(2).containsAnyOf(
                "cluster.local/ns/shop/sa/v1", "cluster.local/ns/shop/sa/v2").satisfies(p ->
                assertThat(p.stream().distinct()).hasSize(1)));
    }

    private static List<String> principals(PolicySet set) {
        return set.policies(AuthorizationPolicy.class).stream().map(p -> p.rules().get(0).from().get(0).principals().get(0))
                .collect(Collectors.toList());
    }

    @Test
    void aDanglingSymlinkIsAnErrorNotAMissingFile() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        source = DirectoryPolicySource.open(dir, FAST);
        Files.createSymbolicLink(dir.resolve("b.yaml"), dir.resolve("nowhere.yaml"));
        Await.until("the link to be reported", () -> !source.errors().isEmpty(), this::state);
        assertThat(source.errors()).singleElement().asString().contains("b.yaml").contains("does not exist");
        assertThat(names(source.current())).containsExactly("shop/a");
    }

    @Test
    void aFailingListenerDoesNotStopTheOthers() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        source = DirectoryPolicySource.open(dir, FAST);
        source.onChange(set -> {
            throw new IllegalStateException("listener bug (expected by the test)");
        });
        List<Long> versions = new CopyOnWriteArrayList<>();
        PolicySource.Registration registration = source.onChange(set -> versions.add(set.version()));
        Files.writeString(dir.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/b"));
        Await.until("version 2 delivered", () -> versions.contains(2L), this::state);

        registration.close();
        Files.delete(dir.resolve("b.yaml"));
        Await.until("version 3", () -> source.current().version() == 3, this::state);
        // Listeners are called in turn on one thread: once a later one has version 3, the removed one
        // would have had it too.
        List<Long> later = new CopyOnWriteArrayList<>();
        source.onChange(set -> later.add(set.version()));
        Await.until("version 3 delivered", () -> later.contains(3L), this::state);
        assertThat(versions).containsExactly(1L, 2L);
    }

    @Test
    void closeStopsWatchingAndKeepsTheLastSet() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        source = DirectoryPolicySource.open(dir, FAST);
        assertThat(source.isWatching()).isTrue();
        source.close();
        assertThat(source.isWatching()).isFalse();
        Files.writeString(dir.resolve("b.yaml"), allow("b", "cluster.local/ns/shop/sa/b"));
        List<PolicySet> seen = new CopyOnWriteArrayList<>();
        source.onChange(seen::add);
        assertThat(names(source.current())).containsExactly("shop/a");
        assertThat(seen).isEmpty();
        source.close();
    }

    @Test
    void policyFilesReadsOneFileOrADirectory() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), allow("a", "cluster.local/ns/shop/sa/a"));
        Files.writeString(dir.resolve("b.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: b}\nspec: {action: DENY}\n");
        PolicyFiles.Result all = PolicyFiles.read(dir, "default");
        assertThat(all.isOk()).isFalse();
        assertThat(all.files()).containsOnlyKeys(dir.resolve("a.yaml").toString(), dir.resolve("b.yaml").toString());
        assertThat(all.errors()).singleElement().satisfies(e -> assertThat(e.line()).isEqualTo(4));
        PolicyFiles.Result one = PolicyFiles.read(dir.resolve("a.yaml"), "default");
        assertThat(one.policies()).extracting(p -> p.policy().metadata().name()).containsExactly("a");
        assertThat(PolicyFiles.read(dir.resolve("zzz.yaml"), "default").errors()).singleElement().asString()
                .contains("does not exist");
        assertThat(PolicyFiles.isPolicyFileName("x.YAML")).isTrue();
        assertThat(PolicyFiles.isPolicyFileName("..data")).isFalse();
        List<IstioPolicy> none = PolicySet.notLoaded().policies();
        assertThat(none).isEmpty();
    }
}
