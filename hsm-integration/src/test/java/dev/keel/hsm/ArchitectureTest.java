package dev.keel.hsm;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** hsm-integration is an L1 library: identity-core, the JDK, BouncyCastle, the Vault driver, SLF4J. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.keel.hsm");

    @Test
    void dependsOnlyOnItsDeclaredLayers() {
        classes().should().onlyDependOnClassesThat()
                .resideInAnyPackage("java..", "javax..", "dev.keel.hsm..", "dev.keel.identity", "org.bouncycastle..",
                        "io.github.jopenlibs.vault..", "org.slf4j..")
                .check(CLASSES);
    }
}
