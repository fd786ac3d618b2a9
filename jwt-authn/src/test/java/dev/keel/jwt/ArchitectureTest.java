package dev.keel.jwt;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** jwt-authn is a pure L2 module: identity-core, policy-library, jose4j, caffeine, slf4j; no Netty. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.jwt");

    @Test
    void noNettyGrpcOrJackson() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.netty..", "io.grpc..", "com.google.protobuf..", "com.fasterxml..")
                .check(CLASSES);
    }

    @Test
    void onlyItsAllowedDependencies() {
        classes().should().onlyDependOnClassesThat()
                .resideInAnyPackage("java..", "javax..", "dev.keel.jwt..", "dev.keel.identity", "dev.keel.policy",
                        "org.jose4j..", "com.github.benmanes.caffeine..", "org.slf4j..")
                .check(CLASSES);
    }

    @Test
    void noOtherModulesInternals() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.identity.internal..", "dev.keel.policy.internal..")
                .check(CLASSES);
    }

    @Test
    void noHigherLayer() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.ca..", "dev.keel.proto..", "dev.keel.testing..", "dev.keel.agent..",
                        "dev.keel.proxy..", "dev.keel.authz..", "dev.keel.cli..")
                .check(CLASSES);
    }
}
