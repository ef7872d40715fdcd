// Launching Debian's Chromium (never a downloaded build) with playwright-core, as the
// browser tests do: the executable from CHROMIUM, and the flags this machine needs.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
// No sandbox as root, no GPU, and no background connections (the network is closed; they
// would fail, many at a time).
export const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** A persistent context on a fresh profile; `close()` also removes the profile. */
export async function launch(options = {}) {
  let profile = mkdtempSync(join(tmpdir(), 'cableway-chromium-'))
  let context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args, ...options })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
