// `strongbox-helper`: the on-prem helper (docs/offline-seeding.md). An edge: it parses arguments, asks
// questions (or takes flags), calls the service (ServiceClient) and the data plane (shared/vault,
// shared/offline), prints, and returns an exit code: 0 ok, 1 failed, 2 bad usage. Passphrases, keys,
// SAS URLs and tokens are never printed or written in plaintext.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import * as path from 'node:path';
import { hasErrorCode, StrongboxError } from '../../shared/errors';
import { diskPrep, scanStaging } from '../../shared/offline/diskPrep';
import { JOB_NAME_PATTERN, readLabel } from '../../shared/offline/driveFormat';
import type { HelperEvent } from '../../shared/offline/helperEvents';
import { localDriveKeyEscrow } from '../../shared/offline/localDriveKeyEscrow';
import { localImportService } from '../../shared/offline/localImportService';
import type { StagedPoint } from '../../shared/offline/offlineBackup';
import { OFFLINE_ERROR_CODES, OfflineError } from '../../shared/offline/offlineErrors';
import { parseVaultCredentials } from '../../shared/offline/vaultCredentials';
import {
  backup,
  listPointIds,
  MIN_PASSPHRASE_CHARS,
  restore,
  VAULT_ERROR_CODES,
  type Vault,
} from '../../shared/vault';
import { sendHelperEvent } from './eventSender';
import { helperDriveKeyEscrow } from './helperDriveKeyEscrow';
import {
  helperState,
  type HelperState,
  type OfflineRecord,
  type Registration,
  type SourceRecord,
} from './helperState';
import { httpServiceClient, ServiceError } from './httpServiceClient';
import { human, progressReporter } from './progress';
import { inquirerPrompter, type Prompter } from './prompter';
import { openOrCreateVault, openStaging, sasContainerStore } from './serverVault';
import type { Resource, ServiceClient, VaultRef } from './serviceClient';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** True when stdin/stdout are a terminal: prompts and progress bars are allowed. */
  interactive: boolean;
  prompter?: Prompter;
}

interface GlobalOpts {
  stateDir?: string;
  serviceUrl?: string;
  tokenFile?: string;
}

const DEFAULT_SERVICE_URL = 'http://localhost:7071';
/** The emulated datacenter's storage account (Azurite's well-known account). */
const DEFAULT_IMPORT_ACCOUNT = 'devstoreaccount1';
const DEFAULT_IMPORT_CONTAINER = 'seeding';

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer ≥ 0');
  return n;
}

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function usage(message: string): OfflineError {
  return new OfflineError(OFFLINE_ERROR_CODES.INVALID_ARGUMENT, message);
}

const prop = (r: Resource, name: string): unknown => r.properties[name];
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

/** The server name MARS would show: the host name, reduced to the API's rule. */
function defaultServerName(): string {
  const h = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return (h || 'server').slice(0, 63);
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const prompter = io.prompter ?? inquirerPrompter();
  let exitCode = 0;
  const program = new Command('strongbox-helper')
    .description(
      'Strongbox on-prem helper: registers this server with a vault, backs up directory trees and disk ' +
        'images (online, or seeded offline on shipped drives), restores',
    )
    .option(
      '--state-dir <dir>',
      'where the helper keeps its state (default: $STRONGBOX_HELPER_HOME or ~/.strongbox-helper)',
    )
    .option(
      '--service-url <url>',
      `the Strongbox service (default: the registration's, $STRONGBOX_SERVICE_URL, ${DEFAULT_SERVICE_URL})`,
    )
    .option('--token-file <file>', 'file holding the API bearer token (default: $STRONGBOX_TOKEN)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const globals = () => program.opts<GlobalOpts>();
  const state = (): HelperState =>
    helperState(
      path.resolve(
        globals().stateDir ?? io.env.STRONGBOX_HELPER_HOME ?? path.join(homedir(), '.strongbox-helper'),
      ),
    );
  let tokenCache: string | undefined;
  const tokenOf = async (): Promise<string> => {
    if (tokenCache !== undefined) return tokenCache;
    const file = globals().tokenFile;
    const t = file !== undefined ? (await readFile(file, 'utf8')).trim() : io.env.STRONGBOX_TOKEN?.trim();
    if (!t) {
      throw usage(
        'no API token: pass --token-file <file> or set STRONGBOX_TOKEN (locally: npm run -s token -- --principal <you> --role "Backup Operator" --scope /subscriptions/<sub>)',
      );
    }
    tokenCache = t;
    return t;
  };
  const clientFor = async (serviceUrl: string | undefined): Promise<ServiceClient> => {
    const token = await tokenOf();
    const url = globals().serviceUrl ?? serviceUrl ?? io.env.STRONGBOX_SERVICE_URL ?? DEFAULT_SERVICE_URL;
    return httpServiceClient(url, () => token);
  };
  const mustRegistration = async (s: HelperState): Promise<Registration> => {
    const r = await s.registration();
    if (!r)
      throw usage(
        `this machine is not registered (no ${path.join(s.dir, 'registration.json')}): run strongbox-helper register --credentials <file>`,
      );
    return r;
  };
  const vaultOf = (r: { subscriptionId: string; vaultName: string }): VaultRef => ({
    subscriptionId: r.subscriptionId,
    vaultName: r.vaultName,
  });
  const readPassphrase = async (file: unknown, confirm: boolean): Promise<string> => {
    let passphrase: string;
    if (typeof file === 'string') {
      passphrase = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } else if (io.interactive) {
      passphrase = await prompter.password(
        `Encryption passphrase (at least ${MIN_PASSPHRASE_CHARS} characters)`,
      );
      if (confirm && (await prompter.password('Type it again')) !== passphrase) {
        throw usage('passphrase: the two entries differ');
      }
    } else {
      throw usage('--passphrase-file <file> is required when not on a terminal');
    }
    if ([...passphrase.normalize('NFC')].length < MIN_PASSPHRASE_CHARS) {
      throw usage(`passphrase: must be at least ${MIN_PASSPHRASE_CHARS} characters`);
    }
    return passphrase;
  };
  const progress = (label: string) => progressReporter(label, io);

  // --- credentials --------------------------------------------------------------------------------------
  program
    .command('credentials')
    .description('download a vault credentials file (valid 10 days) for register')
    .requiredOption('--subscription <id>', 'subscription id')
    .requiredOption('--vault <name>', 'vault name')
    .requiredOption('--out <file>', 'where to write the file (mode 0600)')
    .action(async (o: { subscription: string; vault: string; out: string }) => {
      const url = globals().serviceUrl ?? io.env.STRONGBOX_SERVICE_URL ?? DEFAULT_SERVICE_URL;
      const client = await clientFor(url);
      const creds = await client.vaultCredentials({ subscriptionId: o.subscription, vaultName: o.vault });
      await writeFile(o.out, `${JSON.stringify({ ...creds, serviceUrl: url }, null, 2)}\n`, { mode: 0o600 });
      io.out(
        `vault credentials for vault ${creds.vaultName} saved to ${path.resolve(o.out)} (valid until ${creds.expiresTime})`,
      );
    });

  // --- register -----------------------------------------------------------------------------------------
  program
    .command('register')
    .description(
      'register this server with a vault and set the encryption passphrase (never sent to the service)',
    )
    .requiredOption(
      '--credentials <file>',
      'vault credentials file (strongbox-helper credentials, or POST .../vaultCredentials)',
    )
    .option('--server-name <name>', 'how the vault names this server (default: the host name)')
    .option(
      '--passphrase-file <file>',
      `file holding the passphrase (at least ${MIN_PASSPHRASE_CHARS} characters); asked twice on a terminal`,
    )
    .action(async (o: { credentials: string; serverName?: string; passphraseFile?: string }) => {
      const s = state();
      const creds = parseVaultCredentials(await readFile(o.credentials, 'utf8'), new Date());
      const serverName = o.serverName ?? defaultServerName();
      const passphrase = await readPassphrase(o.passphraseFile, true);
      const client = await clientFor(creds.serviceUrl);
      const v = vaultOf(creds);
      const server = await client.register(v, serverName, {
        registrationId: creds.registrationId,
        registrationSecret: creds.registrationSecret,
      });
      const grant = await client.dataAccess(v, serverName);
      const { created } = await openOrCreateVault(
        sasContainerStore(grant.blob.containerUrl),
        passphrase,
      ).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'KEY.UNWRAP_FAILED') {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
            `passphrase: does not open server ${serverName}'s existing vault (use the passphrase it was registered with)`,
          );
        }
        throw err;
      });
      await s.saveRegistration({
        serviceUrl:
          globals().serviceUrl ?? creds.serviceUrl ?? io.env.STRONGBOX_SERVICE_URL ?? DEFAULT_SERVICE_URL,
        subscriptionId: creds.subscriptionId,
        vaultName: creds.vaultName,
        vaultId: creds.vaultId,
        serverName,
        serverId: grant.serverId,
        escrowKey: creds.escrowKey,
        registeredTime: new Date().toISOString(),
      });
      io.out(
        `registered server ${server.name} with vault ${creds.vaultName} (subscription ${creds.subscriptionId})`,
      );
      io.out(
        `${created ? 'created' : 'opened'} the server's vault; data is encrypted here with your passphrase, which is never sent to the service — keep it safe: without it nothing can be restored`,
      );
    });

  // --- protect ------------------------------------------------------------------------------------------
  program
    .command('protect')
    .description(
      'protect a directory tree or disk image file with a backup policy (optionally seeding offline)',
    )
    .argument('<source>', 'directory tree, or disk image file with --disk-image')
    .requiredOption('--item <name>', 'protected item name in the vault')
    .requiredOption('--policy <name>', 'backup policy (its schedule also times the copy of seeded data)')
    .option('--disk-image', 'the source is a disk image file')
    .option('--offline', 'seed the initial backup offline: stage it locally and ship it on drives')
    .option('--staging <dir>', 'staging location for --offline')
    .option('--import-job <name>', 'import job name for --offline (unique in the service)')
    .option('--storage-account <name>', 'storage account the datacenter imports into', DEFAULT_IMPORT_ACCOUNT)
    .option('--container <name>', 'container the datacenter imports into', DEFAULT_IMPORT_CONTAINER)
    .action(async (source: string, o: Record<string, unknown>) => {
      const s = state();
      const reg = await mustRegistration(s);
      const srcPath = path.resolve(source);
      const kind = o.diskImage === true ? 'diskImage' : 'directoryTree';
      const st = await stat(srcPath).catch(() => undefined);
      if (!st) throw usage(`source: ${srcPath} does not exist`);
      if (kind === 'diskImage' ? !st.isFile() : !st.isDirectory()) {
        throw usage(
          `source: ${srcPath} must be ${kind === 'diskImage' ? 'a file (--disk-image)' : 'a directory (or pass --disk-image)'}`,
        );
      }
      const item = o.item as string;
      if (o.offline === true && (typeof o.staging !== 'string' || typeof o.importJob !== 'string')) {
        throw usage('--offline needs --staging <dir> and --import-job <name>');
      }
      if (typeof o.importJob === 'string' && !JOB_NAME_PATTERN.test(o.importJob)) {
        throw usage(
          `--import-job ${o.importJob}: use 3–63 of a-z, 0-9 and -, starting with a letter or digit`,
        );
      }
      const client = await clientFor(reg.serviceUrl);
      const v = vaultOf(reg);
      const it = await client.protect(v, reg.serverName, {
        itemName: item,
        source: { kind, path: srcPath },
        policyName: o.policy as string,
      });
      const prior = (await s.sources())[item.toLowerCase()];
      const offline =
        o.offline === true
          ? { importJobName: o.importJob as string, staging: path.resolve(o.staging as string) }
          : prior?.offline;
      const rec: SourceRecord = {
        itemName: it.name,
        kind,
        path: srcPath,
        policyName: o.policy as string,
        ...(offline ? { offline } : {}),
        ...(prior?.lastPointId ? { lastPointId: prior.lastPointId } : {}),
      };
      await s.saveSource(rec);
      io.out(
        `item ${it.name}: ${str(prop(it, 'protectionStatus'))} with policy ${str(prop(it, 'policyName'))}`,
      );
      if (o.offline === true && offline) {
        const existing = await s.offline(offline.importJobName);
        const itemNames = [...new Set([...(existing?.itemNames ?? []), it.name])];
        const ob = await client.putOfflineBackup(v, offline.importJobName, {
          serverName: reg.serverName,
          itemNames,
          stagingLocation: offline.staging,
          storageAccount: o.storageAccount,
          container: o.container,
        });
        await s.saveOffline({
          name: offline.importJobName,
          staging: offline.staging,
          storageAccount: o.storageAccount as string,
          container: o.container as string,
          points: existing?.points ?? [],
          drives: existing?.drives ?? [],
          ...existing,
          itemNames,
        });
        io.out(
          `offline backup ${ob.name}: ${str(prop(ob, 'state'))}; job shows "${'Waiting for import job to complete'}"`,
        );
        io.out(`next: ${str(prop(ob, 'nextAction'))}`);
      }
    });

  // --- backup -------------------------------------------------------------------------------------------
  program
    .command('backup')
    .description(
      'back up now: to the staging location while an offline backup waits for it, else online into the vault',
    )
    .option('--item <name>', 'only this item (repeat for more); default: every protected item', collect, [])
    .option('--passphrase-file <file>', 'file holding the encryption passphrase')
    .action(async (o: { item: string[]; passphraseFile?: string }) => {
      const s = state();
      const reg = await mustRegistration(s);
      const all = Object.values(await s.sources());
      const wanted =
        o.item.length === 0
          ? all
          : o.item.map((i) => {
              const rec = all.find((r) => r.itemName.toLowerCase() === i.toLowerCase());
              if (!rec)
                throw usage(`--item ${i}: not protected on this server (run strongbox-helper protect first)`);
              return rec;
            });
      if (wanted.length === 0)
        throw usage('nothing is protected on this server: run strongbox-helper protect first');
      const passphrase = await readPassphrase(o.passphraseFile, false);
      const client = await clientFor(reg.serviceUrl);
      const v = vaultOf(reg);
      const grant = await client.dataAccess(v, reg.serverName);
      const serverStore = sasContainerStore(grant.blob.containerUrl);
      let online: Vault | undefined;
      const told = new Set<string>();
      const stagingVaults = new Map<string, Vault>();
      const staged = new Map<string, StagedPoint[]>();
      for (const src of wanted) {
        let mode: 'online' | 'staging' | 'skip' = 'online';
        if (src.offline) {
          const ob = await client.getOfflineBackup(v, src.offline.importJobName);
          const obState = str(prop(ob, 'state'));
          const rec = await s.offline(src.offline.importJobName);
          const hasPoint =
            rec?.points.some((p) => p.itemName.toLowerCase() === src.itemName.toLowerCase()) ?? false;
          if (obState === 'WaitingForStaging' && !hasPoint) mode = 'staging';
          else if (['Completed', 'Expired', 'Failed'].includes(obState)) {
            mode = 'online';
            if (obState === 'Completed' && prop(ob, 'stagingDeletable') === true && !told.has(ob.name)) {
              told.add(ob.name);
              io.out(
                `offline backup ${ob.name} is complete: the staging location ${src.offline.staging} can be deleted`,
              );
            }
            if (obState !== 'Completed')
              io.out(
                `offline backup ${ob.name} is ${obState}: sending ${src.itemName}'s initial backup online`,
              );
          } else {
            mode = 'skip';
            io.out(
              `item ${src.itemName}: its initial backup is being seeded offline (${ob.name}: ${obState}); ${str(prop(ob, 'nextAction'))}`,
            );
          }
        }
        if (mode === 'skip') continue;
        const source =
          src.kind === 'diskImage'
            ? { kind: 'diskImage' as const, path: src.path }
            : { kind: 'directoryTree' as const, path: src.path };
        if (mode === 'staging' && src.offline) {
          let vault = stagingVaults.get(src.offline.staging);
          if (!vault) {
            vault = await openStaging(src.offline.staging, serverStore, passphrase);
            stagingVaults.set(src.offline.staging, vault);
          }
          const bar = progress(`staging ${src.itemName}`);
          const res = await backup(vault, source, { onProgress: (p) => bar.update(p) }).finally(() =>
            bar.stop(),
          );
          const point: StagedPoint = {
            itemName: src.itemName,
            pointId: res.pointId,
            sizeBytes: res.bytesRead,
          };
          const list = staged.get(src.offline.importJobName) ?? [];
          list.push(point);
          staged.set(src.offline.importJobName, list);
          const rec = await s.offline(src.offline.importJobName);
          if (rec) {
            await s.saveOffline({
              ...rec,
              points: [
                ...rec.points.filter((p) => p.itemName.toLowerCase() !== src.itemName.toLowerCase()),
                point,
              ],
            });
          }
          await s.saveSource({ ...src, lastPointId: res.pointId });
          io.out(
            `item ${src.itemName}: staged ${human(res.bytesRead)} in ${src.offline.staging}: point ${res.pointId}, ${human(res.bytesNewStored)} new`,
          );
          continue;
        }
        online ??= (await openOrCreateVault(serverStore, passphrase)).vault;
        // The parent must be in this vault (an expired offline backup's staged point is not).
        const parent =
          src.lastPointId !== undefined && (await serverStore.stat(`points/${src.lastPointId}`))
            ? src.lastPointId
            : undefined;
        const bar = progress(`backup ${src.itemName}`);
        const before = Date.now();
        const res = await backup(online, source, {
          ...(parent ? { parentPointId: parent } : {}),
          onProgress: (p) => bar.update(p),
        }).finally(() => bar.stop());
        const event: HelperEvent = {
          v: 1,
          id: `backup:${reg.serverId}:${res.pointId}`,
          kind: 'backupCompleted',
          subscriptionId: reg.subscriptionId,
          vaultName: reg.vaultName,
          serverName: reg.serverName,
          sentTime: new Date().toISOString(),
          data: {
            itemName: src.itemName,
            pointId: res.pointId,
            pointTime: new Date(Number(res.pointId.slice(0, 13))).toISOString(),
            sourceKind: src.kind,
            bytesRead: res.bytesRead,
            bytesUploaded: res.bytesNewStored,
          },
        };
        const via = await sendHelperEvent(event, grant, client, v, reg.serverName);
        await s.saveSource({ ...src, lastPointId: res.pointId });
        const secs = Math.max((Date.now() - before) / 1000, 1e-3);
        io.out(
          `item ${src.itemName}: backed up ${human(res.bytesRead)} online: point ${res.pointId}, ${human(res.bytesNewStored)} uploaded (${human(res.bytesRead / secs)}/s read); reported via ${via}`,
        );
      }
      for (const [job, points] of staged) {
        const rec = await s.offline(job);
        const files = rec ? await scanStaging(rec.staging) : [];
        const bytes = files.reduce((n, f) => n + f.size, 0);
        const all = rec?.points ?? points;
        const event: HelperEvent = {
          v: 1,
          id: `staged:${reg.serverId}:${job}:${createHash('sha256')
            .update(
              all
                .map((p) => p.pointId)
                .sort()
                .join(','),
            )
            .digest('hex')
            .slice(0, 16)}`,
          kind: 'staged',
          subscriptionId: reg.subscriptionId,
          vaultName: reg.vaultName,
          serverName: reg.serverName,
          sentTime: new Date().toISOString(),
          data: { importJobName: job, points: [...all], bytes, files: files.length },
        };
        await sendHelperEvent(event, grant, client, v, reg.serverName);
        if (rec) await s.saveOffline({ ...rec, stagedBytes: bytes });
        io.out(
          `offline backup ${job}: ${files.length} staged files (${human(bytes)}) reported; next: strongbox-helper diskprep s:${rec?.staging ?? '<staging>'}`,
        );
      }
    });

  // --- restore ------------------------------------------------------------------------------------------
  program
    .command('restore')
    .description(
      'restore an item from the vault: a tree into a directory, a disk image into a file, or one file or folder of a tree (--path)',
    )
    .requiredOption('--item <name>', 'protected item')
    .requiredOption('--target <path>', 'directory (tree) or file (disk image) to restore into')
    .option('--point <id>', "vault point id (default: the item's newest recovery point)")
    .option(
      '--path <path>',
      "item-level recovery: one file or folder of a tree, '/'-separated from the tree's root; restored under --target by its own name",
    )
    .option('--passphrase-file <file>', 'file holding the encryption passphrase')
    .action(
      async (o: { item: string; target: string; point?: string; path?: string; passphraseFile?: string }) => {
        const within = o.path?.replace(/^\/+|\/+$/g, '');
        if (o.path !== undefined && !within)
          throw usage('--path: name a file or folder inside the tree (not its root)');
        const s = state();
        const reg = await mustRegistration(s);
        const passphrase = await readPassphrase(o.passphraseFile, false);
        const client = await clientFor(reg.serviceUrl);
        const v = vaultOf(reg);
        let pointId = o.point;
        if (pointId === undefined) {
          const rps = await client.listRecoveryPoints(v, o.item);
          const refs = rps
            .map((r) => ({ time: str(prop(r, 'recoveryPointTime')), ref: str(prop(r, 'manifestRef')) }))
            .filter((r) => r.ref.startsWith('points/'))
            .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
          pointId = refs.pop()?.ref.slice('points/'.length);
          // The service learns of a backup through an event a moment later: a newer point this machine
          // just wrote wins (point ids start with their time in milliseconds).
          const local = (await s.sources())[o.item.toLowerCase()]?.lastPointId;
          if (local !== undefined && (pointId === undefined || local > pointId)) pointId = local;
          if (pointId === undefined) throw usage(`--item ${o.item}: has no recovery point yet`);
        }
        const grant = await client.dataAccess(v, reg.serverName);
        const { vault } = await openOrCreateVault(sasContainerStore(grant.blob.containerUrl), passphrase);
        if (!(await listPointIds(vault)).includes(pointId))
          throw usage(`--point ${pointId}: not in this server's vault`);
        const bar = progress(`restore ${o.item}${within ? `/${within}` : ''}`);
        const res = await restore(vault, pointId, path.resolve(o.target), {
          ...(within ? { item: within } : {}),
          onProgress: (p) => bar.update(p),
        })
          .catch((err: unknown) => {
            if (hasErrorCode(err, VAULT_ERROR_CODES.ITEM_NOT_FOUND))
              throw usage(`--path ${o.path}: no such file or folder in point ${pointId}`);
            if (hasErrorCode(err, VAULT_ERROR_CODES.INVALID_ARGUMENT) && within)
              throw usage(`--path: item ${o.item} is a disk image; --path needs a file tree`);
            throw err;
          })
          .finally(() => bar.stop());
        io.out(
          `restored ${o.item}${within ? ` ${within}` : ''} point ${pointId} into ${path.resolve(o.target)}: ${human(res.bytesWritten)}, ${res.files} files`,
        );
        if (res.refused.length > 0) {
          io.err(`refused ${res.refused.length} unsafe entries (first: ${JSON.stringify(res.refused[0])})`);
          exitCode = 1;
        }
      },
    );

  // --- diskprep -----------------------------------------------------------------------------------------
  program
    .command('diskprep')
    .description('prepare shipping drives from a staging location (s:<dir>), or enter shipping details (u:)')
    .argument(
      '<targets...>',
      's:<staging dir> [p:<credentials file>] to prepare drives; u: [s:<staging dir>] [p:<credentials file>] for shipping details',
    )
    .option('--drive <dir>', 'a drive (mounted directory), in order; repeat for more drives', collect, [])
    .option('--capacity-bytes <n>', 'cap each drive at n bytes (tests)', positiveInt)
    .option('--max-bytes-per-second <n>', 'throttle the copy (default: as fast as the disks go)', positiveInt)
    .option(
      '--job <name>',
      'import job name (default: the job tied to the staging location; asked if several)',
    )
    .option('--drive-index <n>', 're-prepare only this drive (after a failed import)', nonNegativeInt)
    .option('--yes', 'do not ask: erase non-empty drives, commit shipping details')
    .option('--carrier <name>', 'u: the carrier (asked on a terminal)')
    .option('--tracking-number <number>', 'u: the tracking number (asked on a terminal)')
    .option('--return-address <text>', 'u: where the drives go back to (asked on a terminal)')
    .action(async (targets: string[], o: Record<string, unknown>) => {
      const staging = targets.find((t) => t.startsWith('s:'))?.slice(2);
      const credFile = targets.find((t) => t.startsWith('p:'))?.slice(2);
      const bad = targets.filter((t) => t !== 'u:' && !t.startsWith('s:') && !t.startsWith('p:'));
      if (bad.length > 0)
        throw usage(`diskprep: unknown target ${bad[0]} (use s:<staging dir>, p:<credentials file>, u:)`);
      const ctx = await serviceContext(credFile);
      if (targets.includes('u:')) {
        await shippingCommand(ctx, o, staging === undefined ? undefined : path.resolve(staging));
        return;
      }
      if (!staging) throw usage('diskprep needs s:<staging dir> (or u: for shipping details)');
      await prepCommand(ctx, o, path.resolve(staging));
    });

  interface ServiceContext {
    s: HelperState;
    client: ServiceClient;
    v: VaultRef;
    escrowKey: { kid: string; publicKeyPem: string };
  }

  /** The vault and service: from this machine's registration, or from a credentials file (p:). */
  async function serviceContext(credFile: string | undefined): Promise<ServiceContext> {
    const s = state();
    const reg = await s.registration();
    if (reg && credFile === undefined) {
      return { s, client: await clientFor(reg.serviceUrl), v: vaultOf(reg), escrowKey: reg.escrowKey };
    }
    if (credFile === undefined) {
      throw usage(
        'this machine is not registered: pass p:<vault credentials file> (or run strongbox-helper register)',
      );
    }
    const creds = parseVaultCredentials(await readFile(credFile, 'utf8'), new Date());
    return { s, client: await clientFor(creds.serviceUrl), v: vaultOf(creds), escrowKey: creds.escrowKey };
  }

  /** The import job for a staging location: the flag, the only one, or the admin's choice. */
  async function pickJob(
    ctx: ServiceContext,
    staging: string | undefined,
    explicit: string | undefined,
    states: string[],
  ): Promise<string | undefined> {
    if (explicit !== undefined) return explicit;
    const remote = (await ctx.client.listOfflineBackups(ctx.v))
      .filter((r) => staging === undefined || str(prop(r, 'stagingLocation')) === staging)
      .filter((r) => states.includes(str(prop(r, 'state'))))
      .map((r) => r.name);
    const local = (await ctx.s.offlineAll())
      .filter((r) => staging === undefined || r.staging === staging)
      .map((r) => r.name);
    const names = [...new Set(remote.length > 0 ? remote : local)].sort();
    if (names.length <= 1) return names[0];
    if (!io.interactive)
      throw usage(`--job is required: several import jobs use this staging location (${names.join(', ')})`);
    return prompter.select('Which import job?', names);
  }

  async function prepCommand(
    ctx: ServiceContext,
    o: Record<string, unknown>,
    staging: string,
  ): Promise<void> {
    const drives = (o.drive as string[]).map((d) => path.resolve(d));
    const yes = o.yes === true;
    const jobName = await pickJob(ctx, staging, o.job as string | undefined, [
      'WaitingForStaging',
      'WaitingForShipping',
      'InTransit',
    ]);
    if (jobName === undefined) {
      throw usage(
        `no import job uses staging location ${staging}: initiate one with strongbox-helper protect … --offline --staging ${staging} --import-job <name>`,
      );
    }
    if (!JOB_NAME_PATTERN.test(jobName)) throw usage(`job name ${jobName}: use 3–63 of a-z, 0-9 and -`);
    io.out(`import job ${jobName} (staging ${staging})`);
    const escrow = helperDriveKeyEscrow({
      kekPath: ctx.s.kekPath,
      dir: ctx.s.escrowDir,
      service: ctx.escrowKey,
    });
    const bar = progress('diskprep');
    const result = await diskPrep({
      stagingDir: staging,
      jobName,
      escrow,
      ...(o.capacityBytes !== undefined ? { capacityBytes: o.capacityBytes as number } : {}),
      ...(o.driveIndex !== undefined ? { onlyDriveIndex: o.driveIndex as number } : {}),
      ...(o.maxBytesPerSecond !== undefined ? { maxBytesPerSecond: o.maxBytesPerSecond as number } : {}),
      nextDrive: async ({ index, reason, filesRemaining, bytesRemaining }) => {
        const given = o.driveIndex !== undefined ? drives[0] : drives[index];
        if (given !== undefined) return given;
        if (!io.interactive) return undefined;
        bar.pause();
        const why = reason === 'full' ? 'The previous drive is full. ' : '';
        const answer = await prompter.input(
          `${why}Path of drive ${index} (${filesRemaining} files, ${human(bytesRemaining)} left; empty to stop)`,
        );
        bar.resume();
        return answer.trim() === '' ? undefined : path.resolve(answer.trim());
      },
      confirmOverwrite: async (dir, why) => {
        if (yes) return true;
        if (!io.interactive) return false;
        bar.pause();
        const ok = await prompter.confirm(
          `${dir} is not empty (${why}). Format it (erase everything) for this job?`,
          false,
        );
        bar.resume();
        return ok;
      },
      onDrive: (d) => {
        bar.pause();
        io.out(
          `drive ${d.index}: ${d.dir} (${d.resumed ? 'resuming' : 'new'}; ${d.files} files, ${human(d.bytes)}; encrypted with its own key, escrowed wrapped)`,
        );
        bar.resume();
      },
      onProgress: (p) => bar.update(p),
    }).finally(() => bar.stop());
    const prior = await ctx.s.offline(jobName);
    const merged = new Map((prior?.drives ?? []).map((d) => [d.index, d]));
    for (const d of result.drives)
      merged.set(d.index, { index: d.index, dir: d.dir, driveId: d.driveId, keyId: d.keyId });
    const record: OfflineRecord = {
      name: jobName,
      staging,
      storageAccount: prior?.storageAccount ?? DEFAULT_IMPORT_ACCOUNT,
      container: prior?.container ?? DEFAULT_IMPORT_CONTAINER,
      itemNames: prior?.itemNames ?? [],
      points: prior?.points ?? [],
      ...prior,
      drives: [...merged.values()].sort((a, b) => a.index - b.index),
    };
    const file = await ctx.s.saveOffline(record);
    io.out(
      `prepared ${result.drives.length} drive(s): ${result.filesCopied} files copied (${human(result.bytesCopied)}), ${result.filesSkipped} already complete; each drive has a journal of every file and its checksum`,
    );
    if (o.driveIndex !== undefined) {
      io.out(
        `re-prepared drive ${o.driveIndex as number}: ship it to the datacenter again (the import job keeps its drives)`,
      );
      io.out(`job record: ${file}`);
      return;
    }
    const specs = [];
    for (const d of record.drives) {
      const w = await escrow.wrappedForService(d.keyId);
      specs.push({ driveIndex: d.index, driveId: d.driveId, keyId: d.keyId, wrappedKey: w.wrappedKey });
    }
    const job = await ctx.client.putImportJob(ctx.v, jobName, {
      drives: specs,
      escrowKeyId: ctx.escrowKey.kid,
      ...(record.points.length > 0 ? { points: [...record.points] } : {}),
    });
    io.out(`import job ${job.name}: ${str(prop(job, 'state'))} with ${specs.length} drive(s)`);
    io.out(`ship the drives to: ${str(prop(job, 'shipTo'))}`);
    io.out(`next: ${str(prop(job, 'nextAction'))}`);
    io.out(`job record: ${file}`);
    if (io.interactive && (await prompter.confirm('Enter the shipping details now?', false))) {
      await shippingCommand(ctx, { ...o, job: jobName }, staging);
    }
  }

  async function shippingCommand(
    ctx: ServiceContext,
    o: Record<string, unknown>,
    staging: string | undefined,
  ): Promise<void> {
    const jobName = await pickJob(ctx, staging, o.job as string | undefined, [
      'WaitingForShipping',
      'InTransit',
    ]);
    if (jobName === undefined)
      throw usage('no import job waits for shipping details: run diskprep s:<staging> first, or pass --job');
    const ask = async (flag: unknown, question: string, name: string): Promise<string> => {
      if (typeof flag === 'string') return flag;
      if (!io.interactive) throw usage(`--${name} is required (not on a terminal)`);
      return prompter.input(question);
    };
    const carrier = await ask(o.carrier, 'Carrier', 'carrier');
    const trackingNumber = await ask(o.trackingNumber, 'Tracking number', 'tracking-number');
    const returnAddress = await ask(o.returnAddress, 'Return address', 'return-address');
    io.out('Review:');
    io.out(`  import job      ${jobName}`);
    io.out(`  carrier         ${carrier}`);
    io.out(`  tracking number ${trackingNumber}`);
    io.out(`  return address  ${returnAddress}`);
    // Committing is deliberate: the tracking number becomes this job's for good.
    const typed = o.yes === true ? 'yes' : io.interactive ? await prompter.input('Type yes to commit') : '';
    if (typed.trim() !== 'yes') {
      io.err('not committed (type yes, or pass --yes)');
      exitCode = 1;
      return;
    }
    const job = await ctx.client.putShipping(ctx.v, jobName, { carrier, trackingNumber, returnAddress });
    const shipping = prop(job, 'shipping') as { trackingNumber?: string } | undefined;
    const rec = (await ctx.s.offline(jobName)) ?? {
      name: jobName,
      staging: staging ?? '',
      storageAccount: str(prop(job, 'storageAccount')),
      container: str(prop(job, 'container')),
      itemNames: (prop(job, 'itemNames') as string[] | undefined) ?? [],
      points: [],
      drives: [],
    };
    const file = await ctx.s.saveOffline({
      ...rec,
      shipping: {
        carrier,
        trackingNumber: shipping?.trackingNumber ?? trackingNumber,
        returnAddress,
        savedAt: new Date().toISOString(),
      },
    });
    io.out(`shipping details saved to ${file}`);
    printImportJob(job);
  }

  function printImportJob(job: Resource): void {
    io.out(
      `import job ${job.name}: ${str(prop(job, 'state'))} (offline backup ${str(prop(job, 'offlineBackupState'))})`,
    );
    const drives = (prop(job, 'drives') as Array<Record<string, unknown>> | undefined) ?? [];
    for (const d of drives) {
      const errors = (d.errors as Array<{ code: string; file?: string }> | undefined) ?? [];
      io.out(
        `  drive ${str(d.driveIndex)} ${str(d.driveId)}: ${str(d.state)}, ${human(Number(d.bytesTransferred ?? 0))}` +
          (errors.length > 0
            ? `; errors: ${errors.map((e) => `${e.code}${e.file ? ` ${e.file}` : ''}`).join(', ')}`
            : ''),
      );
    }
    const deadlines = (prop(job, 'deadlines') as Record<string, string> | undefined) ?? {};
    for (const [k, t] of Object.entries(deadlines)) io.out(`  deadline ${k}: ${t}`);
    io.out(
      `  bytes imported ${human(Number(prop(job, 'bytesCopied') ?? 0))}, copied to the vault ${human(Number(prop(job, 'bytesCopiedToVault') ?? 0))}`,
    );
    io.out(`  next: ${str(prop(job, 'nextAction'))}`);
  }

  // --- status -------------------------------------------------------------------------------------------
  program
    .command('status')
    .description('show offline backups and import jobs: state, drives, bytes, deadlines, what to do next')
    .option('--job <name>', 'only this import job')
    .action(async (o: { job?: string }) => {
      const s = state();
      const reg = await mustRegistration(s);
      const client = await clientFor(reg.serviceUrl);
      const v = vaultOf(reg);
      const names = o.job !== undefined ? [o.job] : (await client.listOfflineBackups(v)).map((r) => r.name);
      if (names.length === 0) io.out('no offline backups');
      for (const n of names) printImportJob(await client.getImportJob(v, n));
    });

  // --- datacenter (local emulator) ------------------------------------------------------------------------
  const datacenter = program
    .command('datacenter')
    .description('the local datacenter emulator (tests and demos): deliver a shipped drive');
  datacenter
    .command('deliver')
    .description('deliver a drive folder to the emulated datacenter (it imports it on its schedule)')
    .requiredOption('--job <name>', 'import job name')
    .requiredOption('--drive <dir>', 'the drive (mounted directory)')
    .option(
      '--at <time>',
      "the datacenter's time, ISO-8601 (default: now; with a fast-forwarded host, pass its clock)",
    )
    .option('--connection <string>', 'storage connection string (default: $AzureWebJobsStorage)')
    .action(async (o: { job: string; drive: string; at?: string; connection?: string }) => {
      const connectionString = o.connection ?? io.env.AzureWebJobsStorage;
      if (!connectionString) throw usage('--connection is required (or set AzureWebJobsStorage)');
      const at = o.at !== undefined ? new Date(o.at) : new Date();
      if (Number.isNaN(at.getTime())) throw usage(`--at ${o.at ?? ''}: must be an ISO-8601 time`);
      const label = await readLabel(path.resolve(o.drive));
      // Delivery only reads the drive's label; keys are recovered by the service when it imports.
      const dc = localImportService({
        connectionString,
        escrow: localDriveKeyEscrow({ kekPath: '/nonexistent/kek', dir: '/nonexistent' }),
      });
      const job = await dc.deliverDrive(o.job, path.resolve(o.drive), at);
      io.out(
        `delivered drive ${label?.driveIndex ?? '?'} (${label?.driveId ?? 'unlabelled'}) of import job ${job.name}: job ${job.state}`,
      );
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ServiceError) {
      io.err(`strongbox-helper: ${err.code}: ${err.message}`);
      return err.status === 400 ? 2 : 1;
    }
    if (err instanceof StrongboxError) {
      io.err(`strongbox-helper: ${err.code}: ${err.message}`);
      return err.code === OFFLINE_ERROR_CODES.INVALID_ARGUMENT ? 2 : 1;
    }
    if ((err as { name?: string }).name === 'ExitPromptError') {
      io.err('strongbox-helper: cancelled');
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.err(`strongbox-helper: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}
