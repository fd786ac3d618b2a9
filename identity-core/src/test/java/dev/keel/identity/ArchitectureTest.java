package dev.keel.identity;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** identity-core is the bottom layer: the JDK and bcprov only, nothing a pure module must not pull in. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.identity");

    @Test
    void noNettyJacksonOrGrpc() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.netty..", "com.fasterxml..", "io.grpc..", "com.google.protobuf..")
                .check(CLASSES);
    }

    @Test
    void onlyTheJdkAndBouncyCastleProvider() {
        classes().should().onlyDependOnClassesThat()
                .resideInAnyPackage("java..", "javax..", "dev.keel.identity..", "org.bouncycastle.asn1..",
                        "org.bouncycastle.crypto..", "org.bouncycastle.math..", "org.bouncycastle.util..",
                        "org.conscrypt..")
                .check(CLASSES);
    }

    @Test
    void nativeCryptoIsReachedThroughOneClass() {
        noClasses().that().doNotHaveFullyQualifiedName("dev.keel.identity.internal.NativeCrypto")
                .should().dependOnClassesThat().resideInAPackage("org.conscrypt..")
                .because("BoringSSL is an optional accelerator: one class decides whether it is used")
                .check(CLASSES);
    }

    @Test
    void noOtherKeelModule() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.ca..", "dev.keel.proto..", "dev.keel.testing..", "dev.keel.agent..",
                        "dev.keel.proxy..", "dev.keel.policy..", "dev.keel.authz..", "dev.keel.jwt..", "dev.keel.cli..")
                .check(CLASSES);
    }
}
