// The protocol's Phase enum and the words everything else uses for it (core's Phase): the
// agent reports in the enum, the control plane stores and shows the words.
import { Phase as ProtoPhase } from '../gen/gitfleet/v1/agent.ts';
import { PHASES, type Phase } from './core/index.ts';

const TO_PROTO: Readonly<Record<Phase, ProtoPhase>> = {
  Pending: ProtoPhase.PHASE_PENDING,
  Applying: ProtoPhase.PHASE_APPLYING,
  Progressing: ProtoPhase.PHASE_PROGRESSING,
  Ready: ProtoPhase.PHASE_READY,
  Failed: ProtoPhase.PHASE_FAILED,
  Drifted: ProtoPhase.PHASE_DRIFTED,
};

const FROM_PROTO = new Map<number, Phase>(PHASES.map((p) => [TO_PROTO[p], p]));

export function phaseToProto(phase: Phase): ProtoPhase {
  return TO_PROTO[phase];
}

/** Undefined for UNSPECIFIED and for numbers that are no phase (UNRECOGNIZED, a newer agent's). */
export function phaseFromProto(phase: number): Phase | undefined {
  return FROM_PROTO.get(phase);
}
