package dev.keel.ca;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** House rules of ARCHITECTURE.md for citadel-ca, kept by tooling rather than memory. */
class ArchitectureTest {

    private static final JavaClasses CA = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.ca");

    @Test
    void onlyTheServerPackageTouchesTheNetwork() {
        noClasses().that().resideOutsideOfPackage("dev.keel.ca.server..")
                .should().dependOnClassesThat().resideInAnyPackage("io.netty..", "io.grpc..")
                .because("issuance, authentication and audit are plain Java; gRPC and Netty are adapters around them")
                .check(CA);
    }

    @Test
    void nothingReachesIntoAnotherModulesInternals() {
        noClasses().should().dependOnClassesThat().resideInAPackage("dev.keel.identity.internal..")
                .check(CA);
    }

    @Test
    void theCaNeverDependsOnTheAgentOrTheProxy() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.keel.agent..", "dev.keel.proxy..")
                .check(CA);
    }
}
