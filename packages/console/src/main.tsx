import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Audit } from "./pages/audit.js";
import { Identities } from "./pages/identities.js";
import { KeyPage } from "./pages/key.js";
import { Keys } from "./pages/keys.js";
import { Keyspaces } from "./pages/keyspaces.js";
import { Overview } from "./pages/overview.js";
import { Ratelimits } from "./pages/ratelimits.js";
import { Rbac } from "./pages/rbac.js";
import { RootKeys } from "./pages/root-keys.js";
import { VerifyPlayground } from "./pages/verify.js";
import { href, useRoute } from "./router.js";
import { describeError, forgetRootKey, type Session, signIn, storedRootKey } from "./session.js";
import { Input } from "./ui.js";

/** The pages in the menu, each shown only to a root key that may read what it shows. */
const PAGES = [
  { path: "", label: "Overview", needs: undefined },
  { path: "keyspaces", label: "Keyspaces", needs: "keyspace.read" },
  { path: "identities", label: "Identities", needs: "identity.read" },
  { path: "rbac", label: "Roles", needs: "rbac.read" },
  { path: "root-keys", label: "Root keys", needs: "root_key.manage" },
  { path: "ratelimits", label: "Rate limits", needs: "ratelimit.manage" },
  { path: "audit", label: "Audit log", needs: "audit.read" },
  { path: "verify", label: "Verify", needs: "key.verify" },
] as const;

function Page({ session, route }: { session: Session; route: string[] }) {
  const [section, id] = route;
  const page = PAGES.find((candidate) => candidate.path === (section ?? ""));
  if (section === "keys" && id) return <KeyPage session={session} keyId={id} />;
  if (section === "keyspaces" && id) return <Keys session={session} keyspaceId={id} />;
  if (!page && section !== "keys") return <p>There is no such page. <a href={href()}>Overview</a></p>;
  if (page?.needs && !session.may(page.needs)) return <p class="refusal">This root key may not do this ({page.needs}).</p>;
  switch (section ?? "") {
    case "keyspaces":
      return <Keyspaces session={session} />;
    case "identities":
      return <Identities session={session} />;
    case "rbac":
      return <Rbac session={session} />;
    case "root-keys":
      return <RootKeys session={session} />;
    case "ratelimits":
      return <Ratelimits session={session} />;
    case "audit":
      return <Audit session={session} />;
    case "verify":
      return <VerifyPlayground session={session} />;
    default:
      return <Overview session={session} />;
  }
}

function SignIn({ signedIn, initialError }: { signedIn(session: Session): void; initialError?: string }) {
  const [rootKey, setRootKey] = useState("");
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);
  return (
    <main id="content" class="sign-in">
      <h1>latchkey console</h1>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            signedIn(await signIn(rootKey.trim()));
          } catch (refused) {
            setError(describeError(refused));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Input label="Root key" hint="Kept in this tab only (sessionStorage) until you sign out or close the tab." name="root-key" type="password" autoComplete="off" required value={rootKey} onValue={setRootKey} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error ? (
        <p class="refusal" role="alert">
          {error}
        </p>
      ) : null}
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session>();
  const [restoring, setRestoring] = useState(() => storedRootKey() !== null);
  const [restoreError, setRestoreError] = useState<string>();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    const stored = storedRootKey();
    if (stored === null) return;
    signIn(stored).then(setSession, (error: unknown) => {
      forgetRootKey();
      setRestoreError(describeError(error));
    }).finally(() => setRestoring(false));
  }, []);
  // A new page moves the focus to its content, as a page load would, for keyboard and screen-reader users.
  useEffect(() => main.current?.focus({ preventScroll: true }), [route.join("/")]);
  if (restoring) return <p class="muted">Signing in…</p>;
  if (!session) return <SignIn signedIn={setSession} initialError={restoreError} />;
  const current = route[0] === "keys" ? "keyspaces" : (route[0] ?? "");
  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link to #content; the handler only moves the focus there without scrolling the hash into the URL */}
      <a class="skip" href="#content" onClick={(event) => (event.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">latchkey</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.filter((page) => !page.needs || session.may(page.needs)).map((page) => (
              <li>
                <a href={href(...(page.path ? [page.path] : []))} aria-current={current === page.path ? "page" : undefined}>
                  {page.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" data-testid="who">
          {session.access.name || "root key"}
          {session.access.keyspaceIds.length ? ` · ${session.access.keyspaceIds.length} keyspace${session.access.keyspaceIds.length > 1 ? "s" : ""}` : ""}
        </span>
        <button
          type="button"
          onClick={() => {
            forgetRootKey();
            setSession(undefined);
            location.hash = "";
          }}
        >
          Sign out
        </button>
      </header>
      <main id="content" ref={main} tabIndex={-1}>
        <Page session={session} route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
