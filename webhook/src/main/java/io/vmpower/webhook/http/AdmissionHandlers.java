package io.vmpower.webhook.http;

import io.vmpower.webhook.admission.AdmissionHandler;

/** The handler behind each admission endpoint. */
public record AdmissionHandlers(AdmissionHandler virtualMachines, AdmissionHandler pods) {}
