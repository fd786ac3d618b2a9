package dev.keel.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The agent speaks to the CA only through mesh-proto: it never links the CA's code, so a node
 * compromise gains nothing a network client would not have.
 */
class ArchitectureTest {

    private static final JavaClasses AGENT = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.keel.agent");

    @Test
    void theAgentNeverDependsOnTheCa() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.keel.ca..").check(AGENT);
    }

    @Test
    void theAgentUsesNoOtherModulesInternals() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.keel.identity.internal..").check(AGENT);
    }
}
