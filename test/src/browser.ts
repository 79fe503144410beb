// A real headless Chromium for tests and benchmarks of the dashboard: Debian's `chromium`
// (scripts/setup.sh installs it; nothing is downloaded), driven by playwright-core, with a
// fresh profile directory that is removed on close. Every request a page makes is recorded,
// so a test can check that the dashboard talks to no host but the control plane.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { tempDir } from './process.ts';

export const CHROMIUM = process.env.GITFLEET_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab: its own sessionStorage, so it asks for a token again. */
  newPage(): Promise<Page>;
  /** Every URL requested by any page, in order (data: URLs included). */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface BrowserOptions {
  viewport?: { width: number; height: number };
  /** A server certificate (PEM) the browser trusts, by its public key: an HTTPS control plane. */
  trustCertificate?: string;
}

/** Chromium's pin of a certificate: the base64 SHA-256 of its SubjectPublicKeyInfo. */
function spkiPin(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

// Playwright kills the browsers it launched when this process exits; their profiles go too.
const profiles = new Set<string>();
process.once('exit', () => {
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});

export async function startBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh (it installs Debian's chromium package)`);
  }
  const userDataDir = tempDir('chromium');
  profiles.add(userDataDir);
  const requests: string[] = [];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: options.trustCertificate
        ? [...FLAGS, `--ignore-certificate-errors-spki-list=${spkiPin(options.trustCertificate)}`]
        : FLAGS,
      viewport: options.viewport ?? { width: 1400, height: 1000 },
      // Playwright's own browser handling of SIGINT etc. would race with the test runner's.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    profiles.delete(userDataDir);
    throw err;
  }
  context.on('request', (r) => void requests.push(r.url()));
  const browser: TestBrowser = {
    context,
    requests,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
      profiles.delete(userDataDir);
    },
  };
  return browser;
}
