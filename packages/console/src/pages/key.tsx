import { CreditOperation, type Key } from "@latchkey/client/web";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { OutcomeChart } from "../chart.js";
import { href } from "../router.js";
import type { Session } from "../session.js";
import { ActionForm, Field, formatTime, Refusal, SecretOnce, Section, Table, useAction, useLoad, Input } from "../ui.js";
import { statusName } from "./keys.js";
import { chartBuckets, RangePicker, type RangeName, verifications } from "./overview.js";
import { AuditTable } from "./audit.js";

/** One key: its facts, usage chart, credits, rate-limit windows and audit trail, and what can be done to it. */
export function KeyPage({ session, keyId }: { session: Session; keyId: string }) {
  const loaded = useLoad(() => session.api.keys.getKey({ id: keyId }), [keyId]);
  const key = loaded.data?.key;
  const [range, setRange] = useState<RangeName>("hour");
  const usage = useLoad(() => (session.may("analytics.read") ? verifications(session, range, { keyIds: [keyId] }) : Promise.resolve(undefined)), [keyId, range]);
  const month = useLoad(() => (session.may("analytics.read") ? session.api.analytics.getKeyUsage({ keyId }) : Promise.resolve(undefined)), [keyId]);
  const trail = useLoad(() => (session.may("audit.read") ? session.api.audit.listAuditEvents({ targetId: keyId, pageSize: 100 }) : Promise.resolve(undefined)), [keyId, key?.updatedAt?.seconds]);
  return (
    <>
      <p class="crumbs">
        <a href={href("keyspaces")}>Keyspaces</a> / {key ? <a href={href("keyspaces", key.keyspaceId)}>{key.keyspaceId}</a> : "…"} / {keyId}
      </p>
      <h1>{key?.name || keyId}</h1>
      <Refusal error={loaded.error} />
      {key ? <Facts keyRecord={key} /> : null}
      {session.may("analytics.read") ? (
        <Section title="Usage" actions={<RangePicker range={range} onChange={setRange} />}>
          <Refusal error={usage.error ?? month.error} />
          {usage.data ? <OutcomeChart buckets={chartBuckets(usage.data.buckets)} slots={usage.data.slots} label="Verifications of this key" /> : null}
          {month.data ? (
            <p class="muted" data-testid="usage-30-days">
              Last 30 days: {String(month.data.total)} verifications, {String(month.data.valid)} valid, {String(month.data.creditsSpent)} credits spent.
            </p>
          ) : null}
        </Section>
      ) : null}
      {key ? (
        <>
          <Section title="Rate limits">
            <Table
              label="Rate limits"
              head={["Name", "Limit", "Window", "Used now", "Window ends"]}
              empty="No rate limits on this key."
              rows={key.rateLimits.map((limit) => [limit.name, String(limit.limit), `${Number(limit.durationMs) / 1000} s`, String(limit.used), formatTime(limit.windowEndsAt)])}
            />
          </Section>
          {key.revokedAt ? (
            <Section title="Change">
              <p class="muted">A revoked key can never change again.</p>
            </Section>
          ) : session.may("key.update") ? (
            <Changes session={session} keyRecord={key} changed={loaded.reload} />
          ) : null}
          {session.may("key.create") && !key.revokedAt ? <Reroll session={session} keyRecord={key} changed={loaded.reload} /> : null}
          {session.may("key.delete") && !key.revokedAt ? <Revoke session={session} keyRecord={key} changed={loaded.reload} /> : null}
        </>
      ) : null}
      {session.may("audit.read") ? (
        <Section title="Audit trail">
          <Refusal error={trail.error} />
          <AuditTable events={trail.data?.events ?? []} />
        </Section>
      ) : null}
    </>
  );
}

function Facts({ keyRecord: key }: { keyRecord: Key }) {
  const facts: [string, ComponentChildren][] = [
    ["Id", key.id],
    ["Status", statusName(key.status)],
    ["Start", key.start],
    ["Credits", key.credits ? String(key.credits.remaining) : "unlimited"],
    ["External id", key.externalId || "—"],
    ["Roles", key.roles.join(", ") || "—"],
    ["Permissions", key.permissions.join(", ") || "—"],
    ["Expires", formatTime(key.expiresAt)],
    ["Last used", formatTime(key.lastUsedAt)],
    ["Created", formatTime(key.createdAt)],
  ];
  if (key.revokedAt) facts.push(["Revoked", <>{formatTime(key.revokedAt)}{key.revocationReason ? `: ${key.revocationReason}` : ""}</>]);
  if (key.previousSecret) facts.push(["Previous secret", <>{key.previousSecret.start} until {formatTime(key.previousSecret.expiresAt)}</>]);
  return (
    <Section title="Key">
      <dl class="facts">
        {facts.map(([term, value]) => (
          <div>
            <dt>{term}</dt>
            <dd data-testid={`fact-${term.toLowerCase().replace(/ /g, "-")}`}>{value}</dd>
          </div>
        ))}
      </dl>
    </Section>
  );
}

function Changes({ session, keyRecord: key, changed }: { session: Session; keyRecord: Key; changed(): void }) {
  const [name, setName] = useState(key.name);
  const [operation, setOperation] = useState<CreditOperation>(CreditOperation.SET);
  const [amount, setAmount] = useState("");
  const rename = useAction();
  const toggle = useAction();
  const credits = useAction();
  const enabled = key.enabled !== false;
  return (
    <Section title="Change">
      <form
        class="form-row"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await rename.run(() => session.api.keys.updateKey({ key: { id: key.id, name }, updateMask: { paths: ["name"] } }))) changed();
        }}
      >
        <Input label="Name" name="key-rename" value={name} onValue={setName} />
        <button type="submit" disabled={rename.busy}>
          Rename
        </button>
        <button
          type="button"
          disabled={toggle.busy}
          onClick={async () => {
            if (await toggle.run(() => session.api.keys.updateKey({ key: { id: key.id, enabled: !enabled }, updateMask: { paths: ["enabled"] } }))) changed();
          }}
        >
          {enabled ? "Disable" : "Enable"}
        </button>
      </form>
      <Refusal error={rename.error ?? toggle.error} />
      <ActionForm
        action={credits}
        label="Update credits"
        submit={async () => {
          const value = amount === "" ? undefined : BigInt(amount);
          if (await credits.run(() => session.api.keys.updateCredits({ keyId: key.id, operation, value }))) {
            setAmount("");
            changed();
          }
        }}
      >
        <Field label="Credits">
          <select name="credit-operation" value={String(operation)} onChange={(event) => setOperation(Number(event.currentTarget.value) as CreditOperation)}>
            <option value={String(CreditOperation.SET)}>set to</option>
            <option value={String(CreditOperation.INCREMENT)}>add</option>
            <option value={String(CreditOperation.DECREMENT)}>take</option>
          </select>
        </Field>
        <Input label="Amount" hint="Set to empty: unlimited" name="credit-amount" type="number" min="0" inputMode="numeric" value={amount} onValue={setAmount} />
      </ActionForm>
    </Section>
  );
}

function Reroll({ session, keyRecord: key, changed }: { session: Session; keyRecord: Key; changed(): void }) {
  const [graceSeconds, setGraceSeconds] = useState("0");
  const [secret, setSecret] = useState<string>();
  const reroll = useAction();
  return (
    <Section title="Reroll">
      <ActionForm
        action={reroll}
        label="Reroll secret"
        submit={async () => {
          const answer = await reroll.run(() => session.api.keys.rerollKey({ id: key.id, gracePeriodMs: BigInt(Number(graceSeconds) * 1000) }));
          if (answer) {
            setSecret(answer.secret);
            changed();
          }
        }}
      >
        <Input label="Grace period, seconds" hint="How long the current secret keeps working" name="reroll-grace" type="number" min="0" max="2592000" value={graceSeconds} onValue={setGraceSeconds} />
      </ActionForm>
      {secret ? <SecretOnce secret={secret} label="The key's new secret." /> : null}
    </Section>
  );
}

function Revoke({ session, keyRecord: key, changed }: { session: Session; keyRecord: Key; changed(): void }) {
  const [reason, setReason] = useState("");
  const revoke = useAction();
  return (
    <Section title="Revoke">
      <ActionForm
        action={revoke}
        label="Revoke key" danger
        submit={async () => {
          if (!confirm(`Revoke ${key.name || key.id} for good?`)) return;
          if (await revoke.run(() => session.api.keys.revokeKey({ id: key.id, reason }))) changed();
        }}
      >
        <Input label="Reason" name="revoke-reason" maxLength={512} value={reason} onValue={setReason} />
      </ActionForm>
    </Section>
  );
}
