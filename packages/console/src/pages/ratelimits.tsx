import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { ActionForm, formatTime, Refusal, Section, Table, useAction, useLoad, Input } from "../ui.js";

/** Rate-limit namespaces and, for the chosen one, its overrides: set and deleted here. */
export function Ratelimits({ session }: { session: Session }) {
  const namespaces = useLoad(() => session.api.ratelimits.listNamespaces({ pageSize: 100 }), []);
  const [namespace, setNamespace] = useState("");
  const overrides = useLoad(() => (namespace ? session.api.ratelimits.listOverrides({ namespace, pageSize: 100 }) : Promise.resolve(undefined)), [namespace]);
  const [draft, setDraft] = useState({ namespace: "", identifier: "", limit: "", durationSeconds: "" });
  const change = useAction();
  const remove = useAction();
  const set = (name: keyof typeof draft) => (value: string) => setDraft({ ...draft, [name]: value });
  return (
    <>
      <h1>Rate limits</h1>
      <Section title="Set an override">
        <ActionForm
          action={change}
          label="Set override"
          submit={async () => {
            const override = { namespace: draft.namespace, identifier: draft.identifier, limit: BigInt(draft.limit || "0"), durationMs: BigInt(Number(draft.durationSeconds || "0") * 1000) };
            if (await change.run(() => session.api.ratelimits.setOverride({ override }))) {
              setNamespace(draft.namespace);
              namespaces.reload();
              overrides.reload();
            }
          }}
        >
          <Input label="Namespace" name="override-namespace" required value={draft.namespace} onValue={set("namespace")} />
          <Input label="Identifier" name="override-identifier" required value={draft.identifier} onValue={set("identifier")} />
          <Input label="Limit" name="override-limit" type="number" min="1" required value={draft.limit} onValue={set("limit")} />
          <Input label="Window, seconds" name="override-duration" type="number" min="1" required value={draft.durationSeconds} onValue={set("durationSeconds")} />
        </ActionForm>
      </Section>
      <Section title="Namespaces">
        <Refusal error={namespaces.error} />
        <Table
          label="Namespaces"
          head={["Name", "Created", ""]}
          empty="No namespaces yet: Limit calls and overrides make them."
          rows={(namespaces.data?.namespaces ?? []).map((entry) => [
            entry.name,
            formatTime(entry.createdAt),
            <button type="button" aria-label={`Show overrides of ${entry.name}`} aria-pressed={namespace === entry.name} onClick={() => setNamespace(entry.name)}>
              Show overrides
            </button>,
          ])}
        />
      </Section>
      {namespace ? (
        <Section title={`Overrides in ${namespace}`}>
          <Refusal error={overrides.error ?? remove.error} />
          <Table
            label="Overrides"
            head={["Identifier", "Limit", "Window", "Updated", ""]}
            empty="No overrides in this namespace."
            rows={(overrides.data?.overrides ?? []).map((override) => [
              override.identifier,
              String(override.limit),
              `${Number(override.durationMs) / 1000} s`,
              formatTime(override.updatedAt),
              <button
                type="button"
                class="danger"
                aria-label={`Delete the override of ${override.identifier}`}
                onClick={async () => (await remove.run(() => session.api.ratelimits.deleteOverride({ namespace, identifier: override.identifier }))) && overrides.reload()}
              >
                Delete
              </button>,
            ])}
          />
        </Section>
      ) : null}
    </>
  );
}
