using Venus.Client;
using Venus.Transport.Vtest;

namespace Venus.Cli;

/// <summary>
/// The <c>venus</c> command line. Exit codes: 0 success, 1 the command failed (message on
/// stderr), 2 usage error (usage on stderr). Nothing throws out of <see cref="Run"/>.
/// </summary>
public static class VenusCli
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public const string Usage = """
        usage: venus <command> [options]

        commands:
          probe [--socket PATH] [--json]
              Talk to a Venus vtest host (e.g. virgl_test_server --venus) like a guest driver:
              handshake, capset, context, then vkEnumerateInstanceVersion, vkCreateInstance,
              vkEnumeratePhysicalDevices and per device its properties, queue families, memory
              properties and extensions. Prints a report, or JSON with --json.
              --socket PATH   the host's socket (default: $VTEST_SOCKET_NAME, else /tmp/.virgl_test)
              --json          print JSON instead of text
          dump FILE [--check] [--json]
              Print a stream recorded by `venus-host serve --record DIR` as decoded calls, one per
              line, each prefixed by the stream it ran on. Every command is re-encoded; --check
              exits 1 unless every command decodes and re-encodes to the same bytes.
              --json          print JSON: every command's stream, offset, length, name, text and
                              whether it decoded and re-encoded the same; then the counts
          replay FILE [--socket PATH] [--verbose] [--json]
              Play a recording (venus-host --record, or our ICD's VENUS_RECORD) against a vtest host
              in a fresh context, one command at a time; ring set-up commands are left out and
              reply streams go to the replayer's own blob. Checks every reply's VkResult, prints
              the time per command type, exits 1 if any command failed.
              --socket PATH   the host's socket (default: $VTEST_SOCKET_NAME, else /tmp/.virgl_test)
              --verbose       name each command on stderr before it is sent
              --json          print the outcome (counts, time per command type, failures) as JSON
          doctor [--host] [--json]
              Say whether an application here would get our Venus device, and if not why: the
              driver manifests the loader sees, the transport our ICD would choose (vtest socket or
              virtio-gpu render nodes and what each lacks), the host's capset, and a trial instance
              and device through the loader. --host checks a machine that runs venus-host instead:
              its Vulkan driver(s), whether host-visible memory can be shared, memfd, and whether
              venus-host is NativeAOT. Exit 0 only when everything needed works.
              --json          print JSON instead of text
          help, --help, -h
              Print this text.
          version, --version
              Print the version and the protocol it speaks: wire format, vk.xml version, the
              VK_EXT_command_serialization and VK_MESA_venus_protocol spec versions.

        Exit status: 0 success, 1 the command failed (one line on stderr says why), 2 bad
        command line (one line on stderr).
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (args.Length == 0)
                return UsageError(stderr, "no command given");
            return args[0] switch
            {
                "probe" => Probe(args.AsSpan(1), stdout, stderr),
                "dump" => VenusDump.Run(args.AsSpan(1), stdout, stderr),
                "doctor" => Doctor(args.AsSpan(1), stdout, stderr),
                "replay" => VenusReplay.Run(args.AsSpan(1), stdout, stderr),
                "help" or "-h" or "--help" => Help(stdout),
                "version" or "--version" => Version(stdout),
                _ => UsageError(stderr, $"unknown command '{args[0]}'"),
            };
        }
        catch (Exception e)
        {
            // Last resort: every expected failure is reported where it happens.
            stderr.WriteLine($"venus: internal error: {e.GetType().Name}: {e.Message}");
            return ExitFailed;
        }
    }

    private static int Help(TextWriter stdout)
    {
        stdout.WriteLine(Usage);
        return ExitOk;
    }

    private static int Version(TextWriter stdout)
    {
        stdout.WriteLine(Venus.Protocol.VenusVersion.Text("venus"));
        return ExitOk;
    }

    /// <summary>A bad command line: one line on stderr naming the problem and where the usage is; exit 2.</summary>
    internal static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"venus: {message} (usage: venus --help)");
        return ExitUsage;
    }

    private static int Doctor(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        bool host = false, json = false;
        foreach (string arg in args)
        {
            switch (arg)
            {
                case "--host": host = true; break;
                case "--json": json = true; break;
                case "-h" or "--help": return Help(stdout);
                default: return UsageError(stderr, $"doctor: unknown option '{arg}'");
            }
        }
        Func<string, string?> env = Environment.GetEnvironmentVariable;
        Venus.Cli.Doctor.DoctorReport report = host ? Venus.Cli.Doctor.HostDoctor.Run(env) : Venus.Cli.Doctor.GuestDoctor.Run(env);
        if (json)
            Venus.Cli.Doctor.DoctorOutput.WriteJson(stdout, report);
        else
            Venus.Cli.Doctor.DoctorOutput.WriteText(stdout, report);
        return report.Healthy ? ExitOk : ExitFailed;
    }

    private static int Probe(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? socket = null;
        bool json = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--socket":
                    if (i + 1 >= args.Length || args[i + 1].Length == 0)
                        return UsageError(stderr, "probe: --socket needs a path");
                    socket = args[++i];
                    break;
                case "--json":
                    json = true;
                    break;
                case "-h" or "--help":
                    return Help(stdout);
                default:
                    return UsageError(stderr, $"probe: unknown option '{args[i]}'");
            }
        }
        socket ??= Environment.GetEnvironmentVariable("VTEST_SOCKET_NAME") is { Length: > 0 } env ? env : VtestProtocol.DefaultSocketPath;

        ProbeReport report;
        try
        {
            using VtestVenusSession session = VtestVenusSession.Open(socket);
            report = VenusProbe.Run(session);
        }
        catch (VtestException e)
        {
            // The transport's messages name the socket path and what failed.
            stderr.WriteLine($"venus probe: {e.Message}");
            return ExitFailed;
        }
        catch (VenusCallException e)
        {
            stderr.WriteLine($"venus probe: {socket}: {e.Message}");
            return ExitFailed;
        }

        if (json)
            ProbeOutput.WriteJson(stdout, report);
        else
            ProbeOutput.WriteText(stdout, report);
        return ExitOk;
    }
}
