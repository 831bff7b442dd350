// Self-signed TLS certificates for tests, made at test time with the openssl CLI (nothing secret is checked in).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM private key and certificate, ready for tls.createServer / https.createServer. */
  readonly key: string;
  readonly cert: string;
}

/**
 * A self-signed P-256 certificate for `name` (CN and DNS SAN), also valid for 127.0.0.1 and ::1,
 * valid for two days. Generated in a temporary directory that is removed before returning.
 */
export function makeSelfSignedCert(name = 'web.test'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-nodes', '-days', '2',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-keyout', keyFile, '-out', certFile,
        '-subj', `/CN=${name}`,
        '-addext', `subjectAltName=DNS:${name},IP:127.0.0.1,IP:::1`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
