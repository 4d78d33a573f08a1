import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { describeError, millis } from "./session.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload(): void;
}

/** Runs `load` when `deps` change (and on reload); a refusal becomes its reason, shown by the page. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setState({ data }),
      (error: unknown) => current && setState({ error: describeError(error) }),
    );
    return () => {
      current = false;
    };
  }, [...deps, generation]);
  return { data: state.data, error: state.error, reload: useCallback(() => setGeneration((n) => n + 1), []) };
}

/** Runs a change, reporting its refusal's reason; resolves with the answer or undefined. */
export function useAction(): { busy: boolean; error: string | undefined; run<T>(action: () => Promise<T>): Promise<T | undefined> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async <T,>(action: () => Promise<T>) => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (refused) {
      setError(describeError(refused));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export const Refusal = ({ error }: { error: string | undefined }) =>
  error ? (
    <p class="refusal" role="alert">
      {error}
    </p>
  ) : null;

export function Section({ title, children, actions, hidden }: { title: string; children: ComponentChildren; actions?: ComponentChildren; hidden?: boolean }) {
  return (
    <section class="card" aria-label={title} hidden={hidden}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** A secret shown once, with a button that copies it. */
export function SecretOnce({ secret, label }: { secret: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <p>{label} It is shown only now.</p>
      <div class="secret-row">
        <code data-testid="secret">{secret}</code>
        <button type="button" onClick={() => navigator.clipboard.writeText(secret).then(() => setCopied(true), () => setCopied(false))}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
    </div>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the children, which the label wraps
    <label class="field">
      <span>{label}</span>
      {children}
      {hint ? <small>{hint}</small> : null}
    </label>
  );
}

/** A time in UTC to the second, kept on one line. */
export const formatTime = (time: { seconds: bigint; nanos: number } | undefined) => {
  const ms = millis(time);
  if (ms === undefined) return "—";
  const iso = new Date(ms).toISOString();
  return (
    <time class="when" dateTime={iso}>
      {`${iso.replace("T", " ").slice(0, 19)} UTC`}
    </time>
  );
};

/** Rows or a line saying there are none, in a table that scrolls sideways on a narrow screen. */
export function Table({ head, rows, empty, label }: { head: string[]; rows: ComponentChildren[][]; empty: string; label: string }) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls sideways must take the focus to be scrolled with the keyboard (axe: scrollable-region-focusable)
    // biome-ignore lint/a11y/useSemanticElements: a <section> would add a landmark per table; the role names the scroll region only
    <div class="table-scroll" tabIndex={0} role="region" aria-label={label}>
      <table>
        <thead>
          <tr>
            {head.map((cell) => (
              <th scope="col">{cell}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              {row.map((cell) => (
                <td>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Next and previous over a List RPC's page tokens. */
export function usePages(): { token: string; next(token: string): void; previous(): void; hasPrevious: boolean; reset(): void } {
  const [stack, setStack] = useState<string[]>([""]);
  return {
    token: stack[stack.length - 1]!,
    next: (token) => setStack((tokens) => [...tokens, token]),
    previous: () => setStack((tokens) => (tokens.length > 1 ? tokens.slice(0, -1) : tokens)),
    hasPrevious: stack.length > 1,
    reset: () => setStack([""]),
  };
}

export function Pager({ pager, nextToken }: { pager: ReturnType<typeof usePages>; nextToken: string | undefined }) {
  if (!pager.hasPrevious && !nextToken) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!pager.hasPrevious} onClick={pager.previous}>
        Previous
      </button>
      <button type="button" disabled={!nextToken} onClick={() => nextToken && pager.next(nextToken)}>
        Next
      </button>
    </nav>
  );
}

/** A labelled input holding a string. */
export function Input({
  label,
  hint,
  value,
  onValue,
  ...attributes
}: {
  label: string;
  hint?: string;
  name: string;
  value: string;
  onValue(value: string): void;
  type?: "text" | "number" | "search" | "password";
  required?: boolean;
  min?: string;
  max?: string;
  maxLength?: number;
  inputMode?: "numeric";
  autoComplete?: "off";
}) {
  return (
    <Field label={label} hint={hint}>
      {/* Preact types each input type apart; these attributes suit all four. */}
      <input {...(attributes as object)} value={value} onInput={(event) => onValue(event.currentTarget.value)} />
    </Field>
  );
}

/** A row of fields with its submit button, whose refusal shows below it. */
export function ActionForm({ action, label, submit, danger, children }: { action: ReturnType<typeof useAction>; label: string; submit(): unknown; danger?: boolean; children: ComponentChildren }) {
  return (
    <>
      <form
        class="form-row"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {children}
        <button type="submit" class={danger ? "danger" : undefined} disabled={action.busy}>
          {label}
        </button>
      </form>
      <Refusal error={action.error} />
    </>
  );
}
