// A throw-away certificate authority made with the `openssl` command at test time: a CA, a
// server certificate it signs for localhost/127.0.0.1, and a key that belongs to nothing (for
// the mismatched-key start-up error). Nothing is kept: everything lives in a fresh temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function hasOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Returns { dir, caPem, caFile, certFile, keyFile, strayKeyFile }.
export function makeTestCa() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-ca-'));
  const f = (name) => path.join(dir, name);
  const run = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Toolgate test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
    '-keyout', f('ca.key'), '-out', f('ca.pem'));
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n'
    + 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.pem'));
  run('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f('stray.key'));
  return {
    dir,
    caFile: f('ca.pem'),
    caPem: readFileSync(f('ca.pem')),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    strayKeyFile: f('stray.key'),
  };
}
