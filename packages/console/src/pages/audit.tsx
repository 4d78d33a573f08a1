import type { AuditEvent } from "@latchkey/client/web";
import { useState } from "preact/hooks";
import { type Session, timestamp } from "../session.js";
import { Field, formatTime, Pager, Refusal, Section, Table, useLoad, usePages, Input } from "../ui.js";

export function AuditTable({ events }: { events: AuditEvent[] }) {
  return (
    <Table
      label="Audit events"
      head={["Time", "Action", "Outcome", "Actor", "Targets"]}
      empty="No audit events."
      rows={events.map((event) => [formatTime(event.time), event.action, event.outcome, <code>{event.actor}</code>, event.targetIds.join(", ")])}
    />
  );
}

/** The audit log, oldest first as the API pages it, filtered by actor, action, target and time. */
export function Audit({ session }: { session: Session }) {
  const [filters, setFilters] = useState({ actor: "", action: "", targetId: "", since: "" });
  const [draft, setDraft] = useState(filters);
  const pager = usePages();
  const list = useLoad(
    () =>
      session.api.audit.listAuditEvents({
        actor: filters.actor,
        action: filters.action,
        targetId: filters.targetId,
        startTime: filters.since ? timestamp(new Date(filters.since).getTime()) : undefined,
        pageSize: 50,
        pageToken: pager.token,
      }),
    [filters, pager.token],
  );
  const field = (name: keyof typeof draft, label: string) => <Input label={label} name={`audit-${name}`} value={draft[name]} onValue={(value) => setDraft({ ...draft, [name]: value })} />;
  return (
    <>
      <h1>Audit log</h1>
      <Section title="Filters">
        <form
          class="form-row"
          onSubmit={(event) => {
            event.preventDefault();
            setFilters(draft);
            pager.reset();
          }}
        >
          {field("actor", "Actor (root key id)")}
          {field("action", "Action")}
          {field("targetId", "Target id")}
          <Field label="Since">
            <input name="audit-since" type="datetime-local" value={draft.since} onInput={(event) => setDraft({ ...draft, since: event.currentTarget.value })} />
          </Field>
          <button type="submit">Filter</button>
        </form>
      </Section>
      <Section title="Events">
        <Refusal error={list.error} />
        <AuditTable events={list.data?.events ?? []} />
        <Pager pager={pager} nextToken={list.data?.nextPageToken} />
      </Section>
    </>
  );
}
