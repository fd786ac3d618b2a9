package dev.keel.agent.attestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AttestationException;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a fake proc root and fake /etc files in a temporary directory. */
class UnixWorkloadAttestorTest {

    private static final WorkloadProcess PROCESS = new WorkloadProcess(4242, 1000, 2000);

    @TempDir
    Path root;

    private Path proc;
    private Path executable;

    @BeforeEach
    void fakeHost() throws Exception {
        proc = Files.createDirectories(root.resolve("proc"));
        executable = Files.createDirectories(root.resolve("usr/bin")).resolve("app");
        Files.writeString(executable, "#!/bin/sh\necho app\n");
        process(4242, 1000, executable);
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), """
                root:x:0:0:root:/root:/bin/bash
                # a comment
                app:x:1000:2000:App:/home/app:/bin/sh
                shadowed:x:1000:2000::/:/bin/false
                """);
        Files.writeString(root.resolve("etc/group"), """
                root:x:0:
                apps:x:2000:app
                """);
    }

    private void process(int pid, int uid, Path exe) throws Exception {
        Path dir = Files.createDirectories(proc.resolve(Integer.toString(pid)));
        Files.writeString(dir.resolve("status"), "Name:\tapp\nPid:\t" + pid + "\nUid:\t" + uid + "\t" + uid + "\t" + uid
                + "\t" + uid + "\nGid:\t2000\t2000\t2000\t2000\n");
        Files.createSymbolicLink(dir.resolve("exe"), exe);
    }

    @Test
    void selectorsFromCredentialsNamesAndExecutable() throws Exception {
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();

        assertThat(strings(attestor.attest(PROCESS))).containsExactlyInAnyOrder("unix:uid:1000", "unix:gid:2000",
                "unix:user:app", "unix:group:apps", "unix:path:" + executable);
        assertThat(attestor.type()).isEqualTo("unix");
    }

    @Test
    void theExecutableHashOnlyWhenEnabled() throws Exception {
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).sha256(true).build();
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                "#!/bin/sh\necho app\n".getBytes(StandardCharsets.UTF_8)));

        assertThat(strings(attestor.attest(PROCESS))).contains("unix:sha256:" + expected);
        assertThat(strings(UnixWorkloadAttestor.builder().procRoot(proc).root(root).build().attest(PROCESS)))
                .noneMatch(s -> s.startsWith("unix:sha256:"));
    }

    @Test
    void unknownIdsGetNoNames() throws Exception {
        process(77, 31337, executable);
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();

        assertThat(strings(attestor.attest(new WorkloadProcess(77, 31337, 31337)))).containsExactlyInAnyOrder(
                "unix:uid:31337", "unix:gid:31337", "unix:path:" + executable);
        assertThat(strings(UnixWorkloadAttestor.builder().procRoot(proc).root(root.resolve("nowhere")).build()
                .attest(PROCESS))).noneMatch(s -> s.startsWith("unix:user:") || s.startsWith("unix:group:"));
    }

    @Test
    void namesAreReadAgainWhenTheFileChanges() throws Exception {
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();
        assertThat(strings(attestor.attest(PROCESS))).contains("unix:user:app");

        Files.writeString(root.resolve("etc/passwd"), "renamed:x:1000:2000::/:/bin/sh\n");
        Files.setLastModifiedTime(root.resolve("etc/passwd"), FileTime.from(Instant.now().plusSeconds(60)));

        assertThat(strings(attestor.attest(PROCESS))).contains("unix:user:renamed").doesNotContain("unix:user:app");
    }

    @Test
    void aVanishedProcessFailsAttestation() {
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();

        assertThatThrownBy(() -> attestor.attest(new WorkloadProcess(999, 1000, 2000)))
                .isInstanceOf(AttestationException.class).hasMessage("process 999 exited before it could be attested");
    }

    @Test
    void aPidNowRunByAnotherUserFailsAttestation() throws Exception {
        process(555, 0, executable);
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();

        assertThatThrownBy(() -> attestor.attest(new WorkloadProcess(555, 1000, 2000)))
                .isInstanceOf(AttestationException.class)
                .hasMessageContaining("process 555 now runs as uid 0, not the uid 1000 it connected with");
    }

    @Test
    void aDeletedExecutableKeepsItsPath() throws Exception {
        Path dir = Files.createDirectories(proc.resolve("66"));
        Files.writeString(dir.resolve("status"), "Uid:\t1000\t1000\t1000\t1000\n");
        Files.createSymbolicLink(dir.resolve("exe"), Path.of("/usr/bin/old-app (deleted)"));
        UnixWorkloadAttestor attestor = UnixWorkloadAttestor.builder().procRoot(proc).root(root).build();

        assertThat(strings(attestor.attest(new WorkloadProcess(66, 1000, 2000)))).contains("unix:path:/usr/bin/old-app");
    }

    @Test
    void theRealProcOfThisProcess() throws Exception {
        long pid = ProcessHandle.current().pid();
        int uid = (int) new com.sun.security.auth.module.UnixSystem().getUid();
        int gid = (int) new com.sun.security.auth.module.UnixSystem().getGid();

        Set<String> selectors = strings(UnixWorkloadAttestor.builder().build().attest(new WorkloadProcess((int) pid, uid, gid)));

        assertThat(selectors).contains("unix:uid:" + uid, "unix:gid:" + gid,
                "unix:path:" + Path.of(ProcessHandle.current().info().command().orElseThrow()).toRealPath());
    }

    private static Set<String> strings(Set<Selector> selectors) {
        return selectors.stream().map(Selector::toString).collect(Collectors.toSet());
    }
}
