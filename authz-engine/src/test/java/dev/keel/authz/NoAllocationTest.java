package dev.keel.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Issue 5, Design: "Evaluation allocates nothing on the hot path", checked with the thread's allocation counter. */
class NoAllocationTest {

    @ParameterizedTest(name = "{0} rules")
    @ValueSource(ints = {10, 1_000, 10_000})
    @DisplayName("decide(request, report) allocates nothing per decision")
    void noAllocation(int rules) {
        DecisionProgram program = DecisionProgram.compile(RbacPolicies.of(rules), Workload.of("foo", Map.of()),
                AuthzConfig.defaults());
        int tenants = Math.max(1, rules / 100);
        AuthzRequest[] requests = new AuthzRequest[64];
        for (int i = 0; i < requests.length; i++) {
            int rule = (i * 7919) % rules;
            boolean good = i % 4 != 0;
            requests[i] = AuthzRequest.builder(Protocol.HTTP)
                    .sourcePrincipal(RbacPolicies.principal(rule % tenants, good ? rule % 10 : (rule + 1) % 10, i & 1))
                    .sourceIp("10.0.0.1").destinationPort(8080).method("GET").host("api")
                    .path(RbacPolicies.path(rule % tenants, rule) + "/item" + i).build();
        }
        DecisionReport report = new DecisionReport();
        int allowed = 0;
        for (int i = 0; i < 200_000; i++) {
            allowed += program.decide(requests[i & 63], report).allowed() ? 1 : 0;
        }
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = bean.getThreadAllocatedBytes(Thread.currentThread().getId());
        long start = System.nanoTime();
        int n = 1_000_000;
        for (int i = 0; i < n; i++) {
            allowed += program.decide(requests[i & 63], report).allowed() ? 1 : 0;
        }
        long nanos = System.nanoTime() - start;
        long allocated = bean.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
        System.out.printf("authz %,d rules: %.1f ns/decision, %.3f B/decision (%d allowed)%n", rules, (double) nanos / n,
                (double) allocated / n, allowed);
        assertThat(allowed).isPositive();
        assertThat(allocated).as("bytes allocated over %d decisions", n).isLessThan(64 * 1024);
    }
}
