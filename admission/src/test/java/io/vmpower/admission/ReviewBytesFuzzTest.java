package io.vmpower.admission;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing of review handling from raw bytes, for both endpoints: the first byte
 * picks the endpoint, the rest is the body. Seeds are real reviews ({@code
 * ReviewBytesFuzzTestInputs}); crashes Jazzer finds are saved there and replayed by every build.
 */
class ReviewBytesFuzzTest {

  @FuzzTest(maxDuration = "10s")
  @DictionaryEntries({
    "\"apiVersion\":\"admission.k8s.io/v1\"",
    "\"kind\":\"AdmissionReview\"",
    "\"operation\":\"UPDATE\"",
    "\"operation\":\"CREATE\"",
    "\"oldObject\":",
    "\"runStrategy\":",
    "\"running\":true",
    "\"vmpower.io/run-policy\":",
    "\"AlwaysOnUnlessStoppedManually\"",
    "\"AlwaysOnUntilStoppedManually\"",
    "\"AlwaysOff\"",
    "\"Manual\"",
    "\"vmpower.io/start-pending\":\"true\"",
    "\"vmpower.io/injection-status\":",
    "\"kubevirt.io/ephemeral-provisioning\":",
    "\"kubevirt.io\":\"virt-launcher\"",
    "\"name\":\"compute\"",
    "\"command\":[",
    "\"args\":[",
    "\"lifecycle\":{\"postStart\":",
    "\"terminationMessagePath\":",
    "\"subResource\":\"status\"",
    "\"dryRun\":true",
    "null"
  })
  void anyBodyGetsAWellFormedAnswer(byte[] data) throws Exception {
    if (data.length == 0) {
      return;
    }
    ReviewProperties.check((data[0] & 1) == 0, Arrays.copyOfRange(data, 1, data.length));
  }
}
