using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve run</c>: hold runtime reservations for exactly as long as a command runs.</summary>
internal static class RunCommand
{
    private static readonly string[] s_blockOptions = ["--tcp", "--udp", "--tcp-at", "--udp-at"];

    public static Command Create(GlobalOptions globals)
    {
        var tcp = new Option<string[]>("--tcp") { HelpName = "N", Description = "Reserve any N consecutive TCP ports (repeatable)" };
        var udp = new Option<string[]>("--udp") { HelpName = "N", Description = "Reserve any N consecutive UDP ports (repeatable)" };
        var tcpAt = new Option<string[]>("--tcp-at") { HelpName = "START:N", Description = "Reserve exactly TCP ports START..START+N-1, given as START:N (repeatable)" };
        var udpAt = new Option<string[]>("--udp-at") { HelpName = "START:N", Description = "Reserve exactly UDP ports START..START+N-1, given as START:N (repeatable)" };
        var listen = new Option<string[]>("--listen") { HelpName = "PROTO:[ADDRESS:]PORT", Description = "Bind a socket to PORT (0: any free one) from a reservation and hand it to the command, as systemd does: descriptors 3, 4, ... in flag order, with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES (repeatable)" };
        var commandLine = new Argument<string[]>("command") { Description = "The command to run, after --", Arity = ArgumentArity.OneOrMore };
        var command = new Command("run", """
            Hold runtime reservations while a command runs. The command gets PORTRESERVE_TCP and PORTRESERVE_UDP:
            comma-separated blocks in the order of the flags, each START-END, or START alone for one port. The command and every process it starts may
            bind those ports; when the daemon enforces exclusive binds (portreserve status), anyone else gets EACCES.
            The reservations end when the command exits (or when portreserve is killed). The exit status is the
            command's (127 if it cannot be started).

            With --listen, the command gets its sockets already bound (TCP ones listening), as socket activation hands
            them over: no race for the port, in any language (Kestrel's UseSystemd, Go's activation.Listeners, Python's
            socket.socket(fileno=3), gunicorn --bind fd://3). A port inside a persistent reservation you may use is
            bound from that one, below 1024 too without any capability; any other is reserved while the command runs.
            Without an address the socket takes every address, IPv4 and IPv6.

            Examples:
              portreserve run --tcp 1 -- sh -c 'exec my-server --port $PORTRESERVE_TCP'
              portreserve run --udp 20 --tcp-at 8080:1 -- ./media-server
              portreserve run --listen tcp:443 -- dotnet MyApp.dll
              portreserve run --listen tcp:0 --listen udp:127.0.0.1:5353 -- python3 server.py
            """)
        {
            tcp, udp, tcpAt, udpAt, listen, commandLine,
        };

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            if (UnknownOption(parseResult.Tokens) is { } unknown)
            {
                await context.Error.WriteLineAsync($"portreserve: run has no option '{unknown}'; the command to run goes after -- (see portreserve run --help)");
                return ExitCodes.Usage;
            }

            List<BlockArgument>? blocks = ParseBlocks(parseResult, out string? error);
            if (blocks is null)
            {
                await context.Error.WriteLineAsync($"portreserve: {error}");
                return ExitCodes.Usage;
            }

            var specs = new List<ListenSpec>();
            foreach (string text in parseResult.GetValue(listen) ?? [])
            {
                if (ListenSpec.Parse(text, out string? listenError) is not { } spec)
                {
                    await context.Error.WriteLineAsync($"portreserve: {listenError}");
                    return ExitCodes.Usage;
                }

                specs.Add(spec);
            }

            string[] argv = parseResult.GetValue(commandLine) ?? [];
            return await context.RunAsync(client => RunHoldingAsync(context, client, blocks, specs, argv, cancellationToken), cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// An option run does not know, given before <c>--</c>: without this check it would be taken for the command to run
    /// (<c>run --lisen tcp:80 -- app</c> would try to execute <c>--lisen</c>). A value given to a known option is not one.
    /// </summary>
    private static string? UnknownOption(IReadOnlyList<Token> tokens)
    {
        for (int i = 0; i < tokens.Count && tokens[i].Type != TokenType.DoubleDash; i++)
        {
            if (tokens[i].Type == TokenType.Argument && tokens[i].Value.StartsWith('-') && (i == 0 || tokens[i - 1].Type != TokenType.Option))
            {
                return tokens[i].Value;
            }
        }

        return null;
    }

    /// <summary>The block flags in the order given, so PORTRESERVE_* lists blocks in flag order across --tcp and --tcp-at.</summary>
    private static List<BlockArgument>? ParseBlocks(ParseResult parseResult, out string? error)
    {
        var blocks = new List<BlockArgument>();
        IReadOnlyList<Token> tokens = parseResult.Tokens;
        error = null;
        for (int i = 0; i < tokens.Count && tokens[i].Type != TokenType.DoubleDash; i++)
        {
            if (tokens[i].Type == TokenType.Option && s_blockOptions.Contains(tokens[i].Value) && i + 1 < tokens.Count)
            {
                BlockArgument? block = BlockArgument.Parse(tokens[i].Value, tokens[++i].Value, out error);
                if (block is null)
                {
                    return null;
                }

                blocks.Add(block);
            }
        }

        return blocks;
    }

    private static async Task<int> RunHoldingAsync(CommandContext context, PortReservationClient client, List<BlockArgument> blocks, List<ListenSpec> specs, string[] argv, CancellationToken cancellationToken)
    {
        var held = new List<PortReservation>();
        ListenSockets? sockets = null;
        try
        {
            // The command and everything it starts may bind the blocks, not only this process.
            try
            {
                await client.ShareWithChildProcessesAsync(cancellationToken);
            }
            catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.OperationNotSupported)
            {
                await context.Error.WriteLineAsync($"portreserve: warning: {e.Message}; the command's own binds to its ports will be refused");
            }

            foreach (BlockArgument block in blocks)
            {
                held.Add(await client.AcquireAsync(block.Protocol, block.Start, block.Count, cancellationToken));
            }

            try
            {
                sockets = await ListenSockets.OpenAsync(client, specs, held, cancellationToken);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                PortReservationErrorKind? kind = e.SocketErrorCode switch
                {
                    System.Net.Sockets.SocketError.AddressAlreadyInUse => PortReservationErrorKind.AddressAlreadyInUse,
                    System.Net.Sockets.SocketError.AccessDenied => PortReservationErrorKind.AccessDenied,
                    _ => null,
                };
                return await context.ReportAsync(kind?.ToString() ?? e.SocketErrorCode.ToString(), (int)e.SocketErrorCode, $"--listen: cannot bind: {e.Message}", kind is { } known ? ExitCodes.For(known) : 1);
            }

            return await RunChildAsync(context, client, held, sockets, argv, cancellationToken);
        }
        finally
        {
            sockets?.Dispose();
            foreach (PortReservation reservation in held)
            {
                await reservation.DisposeAsync();
            }
        }
    }

    private static async Task<int> RunChildAsync(CommandContext context, PortReservationClient client, List<PortReservation> held, ListenSockets sockets, string[] argv, CancellationToken cancellationToken)
    {
        // Found the way a shell finds it: on PATH, never first in the current directory as Process.Start would.
        if (FindOnPath(argv[0]) is not { } program)
        {
            await context.Error.WriteLineAsync($"portreserve: cannot run '{argv[0]}': not found");
            return 127;
        }

        ProcessStartInfo start;
        try
        {
            start = sockets.Count == 0 ? new ProcessStartInfo(program) : HandingOver(sockets, program);
        }
        catch (InvalidOperationException e)
        {
            await context.Error.WriteLineAsync($"portreserve: cannot run '{argv[0]}': {e.Message}");
            return 127;
        }

        foreach (string argument in argv.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        start.UseShellExecute = false;
        start.Environment["PORTRESERVE_TCP"] = Blocks(held, PortReservationProtocol.Tcp);
        start.Environment["PORTRESERVE_UDP"] = Blocks(held, PortReservationProtocol.Udp);

        Process child;
        try
        {
            child = Process.Start(start) ?? throw new InvalidOperationException("no process started");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            await context.Error.WriteLineAsync($"portreserve: cannot run '{argv[0]}': {e.Message}");
            return 127;
        }
        finally
        {
            // The command has its own copies now; this process keeps only the reservations.
            sockets.Dispose();
        }

        using (child)
        using (ForwardSignals(child))
        using (client.ConnectionLost.Register(() => context.Error.WriteLine("portreserve: warning: the connection to portreserved was lost; the command's ports are no longer reserved")))
        {
            await child.WaitForExitAsync(CancellationToken.None);
            _ = cancellationToken;
            return child.ExitCode;
        }
    }

    /// <summary>
    /// Starts the command through bash, which moves the sockets to descriptors 3, 4, … and sets LISTEN_PID to its own
    /// pid before it execs the command (keeping that pid): sd_listen_fds(3) checks LISTEN_PID against the process's
    /// own, which only the process itself can know, so no spawn from here could set it.
    /// </summary>
    private static ProcessStartInfo HandingOver(ListenSockets sockets, string program)
    {
        const string Shim = """
            i=3
            for fd in $PORTRESERVE_LISTEN_FROM; do eval "exec $i<&$fd $fd<&-"; i=$((i + 1)); done
            unset PORTRESERVE_LISTEN_FROM
            export LISTEN_PID=$$
            exec "$@"
            """;
        if (!File.Exists(Bash))
        {
            throw new InvalidOperationException($"--listen hands the sockets over through {Bash}, which is not installed");
        }

        // -p: bash reads no $BASH_ENV file, which could redefine what the shim runs.
        var start = new ProcessStartInfo(Bash);
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Shim);
        start.ArgumentList.Add("portreserve-run");
        start.ArgumentList.Add(program);
        start.Environment["PORTRESERVE_LISTEN_FROM"] = string.Join(' ', sockets.DuplicateForChild());
        start.Environment["LISTEN_FDS"] = sockets.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["LISTEN_FDNAMES"] = string.Join(':', sockets.Names);
        return start;
    }

    private const string Bash = "/bin/bash";

    /// <summary>
    /// A name with a slash made absolute; any other the first executable file of that name in a PATH directory, as
    /// execvp finds it. Null when there is none.
    /// </summary>
    private static string? FindOnPath(string name)
    {
        // Absolute, so that Process.Start looks nowhere else (it would try its own directory first).
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return Path.GetFullPath(name);
        }

        string path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } set ? set : "/usr/local/bin:/usr/bin:/bin";
        foreach (string directory in path.Split(':'))
        {
            string candidate = Path.Combine(directory.Length == 0 ? "." : directory, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }

        return null;
    }

    private static string Blocks(List<PortReservation> held, PortReservationProtocol protocol)
        => string.Join(',', held.Where(r => r.Protocol == protocol).Select(r => r.Count == 1 ? $"{r.StartPort}" : $"{r.StartPort}-{r.EndPort}"));

    /// <summary>SIGTERM, SIGHUP and SIGQUIT go on to the command; SIGINT from a terminal already reaches it (same process group).</summary>
    private static CompositeDisposable ForwardSignals(Process child)
    {
        (PosixSignal Signal, int Number)[] forwarded = [(PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1), (PosixSignal.SIGQUIT, 3)];
        var registrations = new CompositeDisposable();
        foreach ((PosixSignal signal, int number) in forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                _ = Interop.Libc.Kill(child.Id, number);
            }));
        }

        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => ctx.Cancel = true));
        return registrations;
    }
}
