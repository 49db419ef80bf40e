import { expect } from 'chai';
import { CommanderError } from 'commander';
import { DescriptorError } from '../boards/descriptor.js';
import { ClientClosed, DeviceError, LinkDead } from '../client/errors.js';
import { MissingToolError } from '../process/tools.js';
import { TargetSpecError } from '../targets/descriptor.js';
import { BoardError, FlashError, VerifyError } from '../targets/strategy.js';
import { BuildError } from '../targets/toolchain.js';
import { LinkSpecError } from '../transport/emulator.js';
import { TransportError } from '../transport/transport.js';
import { ConfigError } from './config.js';
import { EXIT, EXIT_CODES, UsageError, errorLine, exitCodeHelp, exitCodeMarkdown, exitCodeOf } from './exit-codes.js';
import { RunOptionError, SpecFileError } from './run-suite.js';

describe('exit codes', () => {
  it('maps every error class to its documented code', () => {
    const cases: Array<[Error, number]> = [
      [new UsageError('x'), 2],
      [new TargetSpecError('x'), 2],
      [new DescriptorError('/tmp/x.json', ['/kind is missing']), 2],
      [new ConfigError('/tmp/hil.config.json', 'x'), 2],
      [new LinkSpecError('x'), 2],
      [new MissingToolError('openocd', 'openocd', 'flash'), 2],
      [new BuildError('x'), 2],
      [new SpecFileError('x'), 2],
      [new RunOptionError('x'), 2],
      [new CommanderError(1, 'commander.unknownOption', 'x'), 2],
      [new BoardError('x', 2), 2],
      [new BoardError('x'), 3],
      [new TransportError('serial:/dev/ttyUSB9', 'no such port'), 3],
      [new ClientClosed('twin', true, 'stats'), 3],
      [new LinkDead('twin', 1500, 1, 'nothing since open', { transmissions: 5, retransmits: 4, goBacks: 0, fastRetransmits: 0, timeouts: 4, rtoMs: 400 }), 3],
      [new DeviceError('twin', 'acquire', 4), 3],
      [new FlashError('b', 'openocd', []), 4],
      [new VerifyError('b', ['fw differs']), 4],
      [new Error('a QMP error'), 3],
      [new TypeError("Cannot read properties of undefined (reading 'toFixed')"), 70],
    ];
    for (const [e, code] of cases) expect(exitCodeOf(e), `${e.name}: ${e.message}`).to.equal(code);
  });

  it('prints a user\'s or a target\'s error as its message, and a bug with its stack', () => {
    expect(errorLine(new TargetSpecError('unknown target "x"; ...'))).to.equal('hil: unknown target "x"; ...');
    const bug = errorLine(new TypeError('oops'), 'soak');
    expect(bug).to.match(/^soak: internal error \(a bug; please report it with this output\):\nTypeError: oops\n\s+at /);
  });

  it('one table: the help and the README text list every code once, in order', () => {
    const codes = EXIT_CODES.map((e) => e.code);
    expect(codes).to.deep.equal([...new Set(codes)].sort((a, b) => a - b));
    expect(codes).to.include.members(Object.values(EXIT));
    const help = exitCodeHelp().split('\n');
    expect(help[0]).to.equal('Exit codes:');
    expect(help.slice(1).map((l) => Number(l.trim().split(/\s+/)[0]))).to.deep.equal(codes);
    expect(exitCodeHelp([EXIT.ok, EXIT.flash]).split('\n')).to.have.length(3);
    expect(exitCodeMarkdown().split('\n')).to.have.length(codes.length + 2);
  });
});
