package dev.keel.authz;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** authz-engine is L2: identity-core and policy-library only; no Netty, no other Keel module. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("dev.keel.authz");

    @Test
    void noNettyGrpcOrProtobuf() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.netty..", "io.grpc..", "com.google.protobuf..")
                .check(CLASSES);
    }

    @Test
    void noKeelModuleButIdentityCoreAndPolicyLibrary() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.ca..", "dev.keel.proto..", "dev.keel.testing..", "dev.keel.agent..",
                        "dev.keel.proxy..", "dev.keel.jwt..", "dev.keel.cli..", "dev.keel.hsm..", "dev.keel.bench..")
                .check(CLASSES);
    }

    @Test
    void noInternalsOfPolicyLibrary() {
        noClasses().should().dependOnClassesThat().resideInAPackage("dev.keel.policy.internal..").check(CLASSES);
    }
}
