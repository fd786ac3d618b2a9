package dev.keel.policy;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.members;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** policy-library is L1 (identity-core, Jackson, fabric8 only); its API is its top package, the rest is internal. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("dev.keel.policy");

    @Test
    void noNettyGrpcProtobufOrCrypto() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.netty..", "io.grpc..", "com.google.protobuf..", "org.bouncycastle..")
                .check(CLASSES);
    }

    @Test
    void noKeelModuleButIdentityCore() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.keel.ca..", "dev.keel.proto..", "dev.keel.testing..", "dev.keel.agent..",
                        "dev.keel.proxy..", "dev.keel.authz..", "dev.keel.jwt..", "dev.keel.cli..", "dev.keel.hsm..",
                        "dev.keel.benchmarks..")
                .check(CLASSES);
    }

    @Test
    void internalIsUsedOnlyFromThisModule() {
        classes().that().resideInAPackage("dev.keel.policy.internal..")
                .should().onlyBeAccessed().byClassesThat().resideInAPackage("dev.keel.policy..")
                .check(CLASSES);
    }

    @Test
    void thePublicApiDoesNotShowInternalTypes() {
        members().that().areDeclaredInClassesThat().resideInAPackage("dev.keel.policy")
                .and().arePublic()
                .should(notMention("dev.keel.policy.internal."))
                .check(CLASSES);
    }

    private static ArchCondition<JavaMember> notMention(String... prefixes) {
        return new ArchCondition<>("not mention " + String.join(", ", prefixes) + " in its signature") {
            @Override
            public void check(JavaMember member, ConditionEvents events) {
                List<JavaClass> types = new ArrayList<>();
                if (member instanceof JavaMethod) {
                    types.add(((JavaMethod) member).getRawReturnType());
                }
                if (member instanceof JavaCodeUnit) {
                    types.addAll(((JavaCodeUnit) member).getRawParameterTypes());
                }
                if (member instanceof JavaField) {
                    types.add(((JavaField) member).getRawType());
                }
                if (!member.getOwner().getModifiers().contains(JavaModifier.PUBLIC)) {
                    return;
                }
                for (JavaClass type : types) {
                    for (String prefix : prefixes) {
                        if (type.getName().startsWith(prefix)) {
                            events.add(SimpleConditionEvent.violated(member, member.getFullName() + " mentions " + type.getName()));
                        }
                    }
                }
            }
        };
    }
}
