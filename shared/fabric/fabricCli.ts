// `npm run fabric -- <command>`: drives the local VM fabric (docs/fabric.md). An edge: it parses
// arguments, calls LocalFabric, prints, and returns an exit code (0 ok, 1 failed, 2 bad usage).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { hasErrorCode } from '../errors';
import { INVENTORY_ERROR_CODES } from '../inventory/inventoryErrors';
import { LOCAL_AGENT_STATES, LocalFabric, type LocalAgentState } from './localFabric';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function number(what: string, min: number, max: number, integer: boolean) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${what} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
      );
    }
    return n;
  };
}

function agentState(raw: string): LocalAgentState {
  if (!(LOCAL_AGENT_STATES as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`must be one of ${LOCAL_AGENT_STATES.join(', ')}`);
  }
  return raw as LocalAgentState;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let fabric: LocalFabric | undefined;
  const program = new Command('fabric')
    .description('Local VM fabric: VMs whose disks are page blobs in Azurite')
    .option('--connection <string>', 'storage connection string (default: $AzureWebJobsStorage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const connect = (): LocalFabric => {
    const cs = (program.opts<{ connection?: string }>().connection ?? io.env.AzureWebJobsStorage)?.trim();
    if (!cs)
      throw new CommanderError(2, 'fabric.noConnection', 'set AzureWebJobsStorage or pass --connection');
    fabric ??= LocalFabric.fromConnectionString(cs);
    return fabric;
  };

  program
    .command('create-vm')
    .description('create a VM with seeded disk content')
    .requiredOption('--name <name>', 'VM name (lower-case letters, digits, hyphens)')
    .addOption(new Option('--os <type>', 'OS type').choices(['linux', 'windows']).default('linux'))
    .option('--disk-gb <size>', 'size of each disk in GiB', number('--disk-gb', 0, 8 * 1024, false))
    .option(
      '--disk-mb <size>',
      'size of each disk in MiB (instead of --disk-gb)',
      number('--disk-mb', 1, 8 * 1024 * 1024, true),
    )
    .option('--data-disks <n>', 'number of data disks', number('--data-disks', 0, 64, true), 0)
    .option('--seed <s>', 'content seed', number('--seed', 0, 2 ** 31 - 1, true), 1)
    .option('--empty', 'write no content (every page unwritten)')
    .option('--running', 'start running (default)')
    .option('--stopped', 'start stopped')
    .addOption(new Option('--agent <state>', 'guest agent').argParser(agentState).default('healthy'))
    .option('--region <name>', 'region (a vault discovers only VMs of its own region)', 'local')
    .action(
      async (o: {
        name: string;
        os: 'linux' | 'windows';
        diskGb?: number;
        diskMb?: number;
        dataDisks: number;
        seed: number;
        empty?: boolean;
        running?: boolean;
        stopped?: boolean;
        agent: LocalAgentState;
        region: string;
      }) => {
        if (o.running && o.stopped)
          throw new CommanderError(2, 'fabric.usage', '--running and --stopped exclude each other');
        if (o.diskGb !== undefined && o.diskMb !== undefined)
          throw new CommanderError(2, 'fabric.usage', 'give --disk-gb or --disk-mb, not both');
        const diskBytes = o.diskMb !== undefined ? o.diskMb * MiB : Math.round((o.diskGb ?? 1) * GiB);
        const created = await connect().createVm({
          name: o.name,
          osType: o.os,
          diskBytes,
          dataDisks: o.dataDisks,
          content: o.empty ? 'empty' : { seed: o.seed },
          powerState: o.stopped ? 'stopped' : 'running',
          agent: o.agent,
          region: o.region,
        });
        const written = created.content.map((ex) => ex.reduce((n, e) => n + e.length, 0));
        io.out(`created ${created.vm.name} (${created.vm.disks.length} disks of ${diskBytes} bytes)`);
        created.vm.disks.forEach((d, i) => io.out(`  disk ${i} ${d.diskId}: ${written[i]} bytes written`));
      },
    );

  program
    .command('write')
    .description('scattered block writes, like a running workload')
    .requiredOption('--vm <name>', 'VM name')
    .option('--disk <i>', 'disk index (0 = OS disk)', number('--disk', 0, 64, true), 0)
    .requiredOption('--percent <p>', 'share of the disk to write', number('--percent', 0, 100, false))
    .option(
      '--block-kb <kb>',
      'block size in KiB (a multiple of 0.5)',
      number('--block-kb', 0.5, 4096, false),
      64,
    )
    .option('--seed <s>', 'seed', number('--seed', 0, 2 ** 31 - 1, true), 1)
    .action(async (o: { vm: string; disk: number; percent: number; blockKb: number; seed: number }) => {
      const report = await connect().scatterWrite(o.vm, o.disk, {
        percent: o.percent,
        blockBytes: o.blockKb * 1024,
        seed: o.seed,
      });
      io.out(
        `wrote ${report.bytesWritten} bytes in ${report.writes.length} blocks to ${o.vm} disk ${o.disk}`,
      );
    });

  program
    .command('start')
    .requiredOption('--vm <name>', 'VM name')
    .action(async (o: { vm: string }) => {
      io.out(`${o.vm}: ${(await connect().setPowerState(o.vm, 'running')).powerState}`);
    });

  program
    .command('stop')
    .requiredOption('--vm <name>', 'VM name')
    .option('--deallocate', 'stop and release compute (deallocated)')
    .action(async (o: { vm: string; deallocate?: boolean }) => {
      io.out(
        `${o.vm}: ${(await connect().setPowerState(o.vm, o.deallocate ? 'deallocated' : 'stopped')).powerState}`,
      );
    });

  program
    .command('agent')
    .requiredOption('--vm <name>', 'VM name')
    .addOption(
      new Option('--state <state>', LOCAL_AGENT_STATES.join('|')).argParser(agentState).makeOptionMandatory(),
    )
    .action(async (o: { vm: string; state: LocalAgentState }) => {
      const vm = await connect().setAgentState(o.vm, o.state);
      io.out(
        `${o.vm}: agent ${o.state} (${vm.agent.status}${vm.agent.version ? ` ${vm.agent.version}` : ''})`,
      );
    });

  program
    .command('list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const vms = await connect().listVms();
      if (o.json) {
        io.out(JSON.stringify(vms, null, 2));
        return;
      }
      io.out(['NAME', 'POWER', 'OS', 'AGENT', 'EXT', 'DISKS'].join('\t'));
      for (const vm of vms) {
        const agent =
          vm.agent.status === 'missing' ? 'missing' : `${vm.agent.status} ${vm.agent.version ?? ''}`.trim();
        const disks = vm.disks.map((d) => `${d.role}:${d.sizeBytes}`).join(',');
        io.out(
          [vm.name, vm.powerState, vm.osType, agent, vm.backupExtensionInstalled ? 'yes' : 'no', disks].join(
            '\t',
          ),
        );
      }
    });

  program
    .command('delete')
    .requiredOption('--vm <name>', 'VM name')
    .action(async (o: { vm: string }) => {
      await connect().deleteVm(o.vm);
      io.out(`deleted ${o.vm}`);
    });

  try {
    await program.parseAsync([...argv], { from: 'node' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      // Commander already printed its own parse errors; print ours.
      if (err.code.startsWith('fabric.')) io.err(`fabric: ${err.message}`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    io.err(`fabric: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message ?? String(err)}`);
    return hasErrorCode(err, INVENTORY_ERROR_CODES.INVALID_ARGUMENT) ||
      hasErrorCode(err, INVENTORY_ERROR_CODES.INVALID_RANGE)
      ? 2
      : 1;
  }
}
