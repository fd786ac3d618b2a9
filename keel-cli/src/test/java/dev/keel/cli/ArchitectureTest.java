package dev.keel.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The CLI wires modules together through their public API only. */
class ArchitectureTest {

    @Test
    void theCliUsesNoOtherModulesInternals() {
        JavaClasses cli = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.keel.cli");
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.identity.internal..", "dev.keel.ca.internal..", "dev.keel.agent..internal..")
                .check(cli);
    }
}
