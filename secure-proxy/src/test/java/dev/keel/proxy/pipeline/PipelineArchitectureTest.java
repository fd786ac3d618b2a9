package dev.keel.proxy.pipeline;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The filter pipeline is protocol-neutral: thin stages over authz-engine and jwt-authn, no Netty, so the
 * HTTP/1.1, HTTP/2 and TCP adapters in {@code dev.keel.proxy.inbound} share it; and the inbound side
 * never reaches into other modules' internals or into the CA or the agent.
 */
class PipelineArchitectureTest {

    private static final JavaClasses PIPELINE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.proxy.pipeline");
    private static final JavaClasses INBOUND = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.proxy.inbound", "dev.keel.proxy.pipeline", "dev.keel.proxy.upstream");

    @Test
    void thePipelineHasNoNetty() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("io.netty..", "io.grpc..").check(PIPELINE);
    }

    @Test
    void noInternalsNoCaNoAgent() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.identity.internal..", "dev.keel.policy.internal..",
                        "dev.keel.authz.internal..", "dev.keel.jwt.internal..", "dev.keel.ca..", "dev.keel.agent..")
                .check(INBOUND);
    }
}
