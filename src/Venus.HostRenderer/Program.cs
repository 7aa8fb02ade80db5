using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.HostRenderer.Server;
using Venus.Transport.RenderServer;
using Venus.Transport.Vtest.Server;

namespace Venus.HostRenderer;

/// <summary>
/// venus-host: a Venus host renderer. <c>serve</c> runs a vtest server whose clients (Mesa's venus
/// guest with VN_DEBUG=vtest, or ours) get their Vulkan calls executed on this machine's driver;
/// <c>render-server</c> (or a bare <c>--socket-fd N</c>, as libvirglrenderer execs its
/// RENDER_SERVER_EXEC_PATH) serves virglrenderer's render protocol to a VMM such as QEMU.
/// </summary>
public static class Program
{
    const string Usage = """
        usage: venus-host serve --socket-path PATH [--driver ICD_JSON] [--record DIR] [--isolation process|thread] [--max-workers N] [CAPS]
               venus-host render-server --socket-fd N [--driver ICD_JSON] [--record DIR] [--isolation process|thread] [--max-workers N] [CAPS]
               venus-host --socket-fd N   (the same: how libvirglrenderer starts RENDER_SERVER_EXEC_PATH)
               venus-host --help | --version

        Runs Vulkan commands that Venus guests send (Mesa's venus driver, or our libvenus_icd.so) on
        this machine's Vulkan driver.

        options:
          --socket-path PATH   unix socket to listen on (vtest protocol)
          --socket-fd N        inherited SOCK_SEQPACKET socket of virglrenderer's render protocol
          --driver ICD_JSON    Vulkan ICD manifest of the host driver (sets VK_DRIVER_FILES); empty or
                               left out: every driver the loader finds except Venus guest drivers
          --record DIR         save every context's command stream to DIR (read with `venus dump`,
                               play again with `venus replay`)
          --isolation MODE     process (default): each client in its own worker process, so a driver
                               crash ends that client only; thread: all clients in this process
          --max-workers N      process isolation: at most N clients served at once, more are refused
                               (default 32); a dead client's worker is killed 0.5 s after it hung up
          --max-device-memory SIZE  per context: VkDeviceMemory held at once (default 16G); past it
                               vkAllocateMemory fails with VK_ERROR_OUT_OF_DEVICE_MEMORY
          --max-shared-memory SIZE  per context: guest-shared memory (blobs, rings, reply streams and
                               the memfds of mappable memory; default 8G); past it blob creation
                               fails and mappable allocations get VK_ERROR_OUT_OF_HOST_MEMORY
          --max-command-bytes SIZE  per command: bytes its decoding may allocate (default 64M); past
                               it the context ends
          --max-objects N      per context: live Vulkan objects (default 1048576); past it the
                               context ends
                               (SIZE: bytes, or a number with K, M or G)
          --version            print the version and the protocol versions (wire format, vk.xml,
                               spec versions)

        environment:
          VENUS_HOST_LOG=FILE  append log lines to FILE instead of stderr
          VENUS_HOST_ISOLATION=process|thread  the default of --isolation
          VENUS_HOST_MAX_WORKERS=N             the default of --max-workers
          VENUS_HOST_MAX_DEVICE_MEMORY, VENUS_HOST_MAX_SHARED_MEMORY, VENUS_HOST_MAX_COMMAND_BYTES,
          VENUS_HOST_MAX_OBJECTS               the defaults of the cap options

        Exit status: 0 stopped cleanly (SIGTERM, SIGINT), 1 failed (one line on stderr says why),
        2 bad command line (one line on stderr).
        """;

    /// <summary>A bad command line: one line naming the problem and where the usage is; exit 2.</summary>
    static int UsageError(string message)
    {
        Console.Error.WriteLine($"venus-host: {message} (usage: venus-host --help)");
        return 2;
    }

    public static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"venus-host: {e.Message}");
            return 1;
        }
    }

    static int Run(string[] args)
    {
        if (args.Length == 0) return UsageError("no command given");
        if (args[0] is "-h" or "--help") { Console.Out.WriteLine(Usage); return 0; }
        if (args[0] is "--version") { Console.Out.WriteLine(Venus.Protocol.VenusVersion.Text("venus-host")); return 0; }
        // libvirglrenderer execs RENDER_SERVER_EXEC_PATH with just "--socket-fd N".
        if (args[0] == "--socket-fd") args = ["render-server", .. args];
        if (args[0] is not ("serve" or "worker" or "render-server")) return UsageError($"unknown command '{args[0]}'");
        bool worker = args[0] == "worker", renderServer = args[0] == "render-server", renderWorker = false;
        string? socket = null, driver = null, record = null;
        // libvirglrenderer passes no options: the environment can pick the isolation.
        string isolation = Environment.GetEnvironmentVariable("VENUS_HOST_ISOLATION") is { Length: > 0 } i0 ? i0 : "process";
        int fd = -1, clientId = 0, channel = -1, socketFd = -1, maxWorkers = WorkerProcesses.DefaultMaxWorkers;
        if (Environment.GetEnvironmentVariable("VENUS_HOST_MAX_WORKERS") is { Length: > 0 } m0)
        {
            if (!int.TryParse(m0, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxWorkers) || maxWorkers < 1)
            { Console.Error.WriteLine($"venus-host: VENUS_HOST_MAX_WORKERS is a number >= 1, not '{m0}'"); return 2; }
        }
        // Caps: the environment gives the defaults (and passes them to the workers), the options override.
        var caps = new Dictionary<string, ulong>();
        foreach (var (_, env, _) in CapOptions)
        {
            if (Environment.GetEnvironmentVariable(env) is not { Length: > 0 } v) continue;
            if (!TryParseSize(v, out ulong n)) { Console.Error.WriteLine($"venus-host: {env} is a size (bytes, or a number with K, M or G) >= 1, not '{v}'"); return 2; }
            caps[env] = n;
        }
        for (int i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Number() => int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
                ? n : throw new ArgumentException($"{args[i - 1]} needs a number, not '{args[i]}'");
            try
            {
                switch (args[i])
                {
                    case "--socket-path" when !renderServer: socket = Value(); break;
                    case "--socket-fd" when renderServer: socketFd = Number(); break;
                    case "--driver": driver = Value(); break;
                    case "--record": record = Value(); break;
                    case "--isolation" when !worker: isolation = Value(); break;
                    case "--max-workers" when !worker: maxWorkers = Number(); break;
                    case "--fd" when worker: fd = Number(); break;
                    case "--client-id" when worker: clientId = Number(); break;
                    case "--channel" when worker: channel = Number(); break;
                    case "--render" when worker: renderWorker = true; break;
                    case "-h" or "--help": Console.Out.WriteLine(Usage); return 0;
                    case var flag when !worker && Array.FindIndex(CapOptions, c => c.Flag == flag) is int k and >= 0:
                        string v = Value();
                        if (!TryParseSize(v, out ulong n)) return UsageError($"{flag} needs a size (bytes, or a number with K, M or G) >= 1, not '{v}'");
                        caps[CapOptions[k].Env] = n;
                        break;
                    default: return UsageError($"unknown option '{args[i]}'");
                }
            }
            catch (ArgumentException e) { return UsageError(e.Message); }
        }
        if (isolation is not ("process" or "thread")) return UsageError($"--isolation is process or thread, not '{isolation}'");
        if (maxWorkers < 1) return UsageError($"--max-workers is at least 1, not {maxWorkers}");
        if (worker && fd < 3 && channel < 3) return UsageError("worker needs --fd N or --channel N (N >= 3)");
        if (renderServer && socketFd < 0) return UsageError("render-server needs --socket-fd N");
        if (renderServer && !RenderSocket.IsSeqPacket(socketFd)) { Console.Error.WriteLine($"venus-host: --socket-fd {socketFd} is not an open SOCK_SEQPACKET socket"); return 2; }
        if (!worker && !renderServer && socket == null) return UsageError("serve needs --socket-path PATH");
        if (string.IsNullOrEmpty(driver))
        {
            // Every driver the loader finds, except Venus guest drivers (ours, Mesa's virtio): a host
            // that loaded one would send its own calls to a Venus host, perhaps itself.
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VK_DRIVER_FILES"))
                && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VK_ICD_FILENAMES"))
                && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("VK_LOADER_DRIVERS_DISABLE")))
                Environment.SetEnvironmentVariable("VK_LOADER_DRIVERS_DISABLE", "*venus_icd*,*virtio_icd*");
        }
        else
        {
            if (!File.Exists(driver)) { Console.Error.WriteLine($"venus-host: driver manifest not found: {driver}"); return 2; }
            Environment.SetEnvironmentVariable("VK_DRIVER_FILES", driver);
        }
        var log = Logger();
        var vk = VulkanLibrary.TryLoad(out var error);
        if (vk == null) { Console.Error.WriteLine($"venus-host: {error}"); return 1; }
        // Guest SPIR-V is checked before the driver sees it (Native/SpirvTools.cs); say so when only the structural walk is there.
        if (!SpirvTools.HasValidator) log($"venus-host: {SpirvTools.Status}");
        var defaults = new HostOptions();
        ulong Cap(string env, ulong fallback) => caps.TryGetValue(env, out ulong n) ? n : fallback;
        var options = new HostOptions
        {
            RecordDir = record,
            Log = log,
            MaxDeviceMemoryBytes = Cap("VENUS_HOST_MAX_DEVICE_MEMORY", defaults.MaxDeviceMemoryBytes),
            MaxSharedBytes = Cap("VENUS_HOST_MAX_SHARED_MEMORY", defaults.MaxSharedBytes),
            MaxCommandBytes = Cap("VENUS_HOST_MAX_COMMAND_BYTES", defaults.MaxCommandBytes),
            MaxObjects = (int)Math.Min(Cap("VENUS_HOST_MAX_OBJECTS", (ulong)defaults.MaxObjects), int.MaxValue),
        };
        // Worker processes read their caps from the environment they inherit.
        foreach (var (env, n) in caps) Environment.SetEnvironmentVariable(env, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var factory = new VtestRendererFactory(vk, options);
        if (worker)
        {
            if (channel >= 3)
            {
                // A spare: warm up while no client is waiting, and take the connection the server
                // passes as soon as it comes, warmed up or not.
                var warm = System.Diagnostics.Stopwatch.StartNew();
                // On a thread of the lowest priority: a spare warms up while another context runs
                // (often a VM on the same cores), and must not slow it down. Threads of later
                // contexts are not its children, so they keep the normal priority.
                int warmTid = 0;
                long warmMs = -1;
                bool clientArrived = false;
                var warmer = new Thread(() =>
                {
                    warmTid = Posix.CurrentThreadId();
                    Posix.NiceThread(warmTid, 19);
                    Warmup.Run(vk, () => Volatile.Read(ref clientArrived));
                    Volatile.Write(ref warmMs, warm.ElapsedMilliseconds);
                }) { Name = "venus-warmup", IsBackground = true };
                warmer.Start();
                if (!VtestHandOffChannel.Receive(channel, out fd, out clientId)) return 0;
                VtestConnection.Close(channel);
                Volatile.Write(ref clientArrived, true);
                long doneMs = Volatile.Read(ref warmMs);
                // A client that came during the warm-up is not made to wait for it at the lowest
                // priority: the warm-up goes back to the normal one (where this process may raise
                // it again) and ends after its current step; the client's calls run meanwhile.
                if (doneMs < 0 && warmTid != 0) Posix.NiceThread(warmTid, 0);
                else Warmup.CompileInBackground();
                // From exec to ready: the worker start-up figure (JIT vs NativeAOT) of the README.
                double readyMs = (DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalMilliseconds;
                string runtime = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT";
                log($"venus-host: worker {Environment.ProcessId} serves {(renderWorker ? "render context" : "vtest client")} {clientId} (ready {readyMs:0} ms after exec, " +
                    (doneMs >= 0 ? $"warm-up {doneMs} ms, {runtime}; waited {warm.ElapsedMilliseconds - doneMs} ms)" : $"warm-up cut short at {warm.ElapsedMilliseconds} ms, {runtime})"));
            }
            // One client, served on this thread; the parent accepted it and passed the connection down.
            if (renderWorker) RenderContextConnection.Serve(fd, (uint)clientId, "", new RenderContextFactory(vk, options), new RenderServerOptions { Log = log });
            else VtestConnection.Serve(fd, clientId, factory, new VtestServerOptions { Log = log, SharesHostVisibleMemory = true });
            return 0;
        }
        if (renderServer) return ServeRender(socketFd, isolation, record, maxWorkers, vk, options, log);
        var workers = isolation == "process" ? new WorkerProcesses(record, log, maxWorkers: maxWorkers) : null;
        using var server = VtestServer.Start(socket!, factory, new VtestServerOptions { Log = log, SharesHostVisibleMemory = true, HandOff = workers == null ? null : workers.Start });
        log($"venus-host: serving {socket} ({(workers != null ? $"process isolation, at most {maxWorkers} workers" : "thread isolation")}, protocol vk.xml 1.4.{Venus.Protocol.VenusProtocolInfo.VkXmlVersion & 0xfff}, {Venus.Protocol.VenusProtocolInfo.Extensions.Length} extensions)");
        using var stop = new ManualResetEventSlim();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Set(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Set();
        // Kept alive until Main returns: a collected registration would drop the handler and SIGTERM would kill the server without its shutdown.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        stop.Wait();
        log("venus-host: stopping");
        workers?.StopAll();
        return 0;
    }

    static readonly (string Flag, string Env, string What)[] CapOptions =
    [
        ("--max-device-memory", "VENUS_HOST_MAX_DEVICE_MEMORY", "device memory"),
        ("--max-shared-memory", "VENUS_HOST_MAX_SHARED_MEMORY", "shared memory"),
        ("--max-command-bytes", "VENUS_HOST_MAX_COMMAND_BYTES", "decode bytes per command"),
        ("--max-objects", "VENUS_HOST_MAX_OBJECTS", "objects"),
    ];

    /// <summary>A size: a whole number of bytes, or one with a K, M or G suffix (powers of 1024); at least 1.</summary>
    internal static bool TryParseSize(string text, out ulong bytes)
    {
        bytes = 0;
        int shift = 0;
        string digits = text;
        if (text.Length > 1 && char.ToUpperInvariant(text[^1]) is 'K' or 'M' or 'G' && !char.IsDigit(text[^1]))
        {
            shift = char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, _ => 30 };
            digits = text[..^1];
        }
        if (!ulong.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong n) || n == 0) return false;
        if (n > ulong.MaxValue >> shift) return false;
        bytes = n << shift;
        return true;
    }

    /// <summary>virglrenderer's render server on the inherited socket, until the VMM closes it.</summary>
    static int ServeRender(int socketFd, string isolation, string? record, int maxWorkers, VulkanLibrary vk, HostOptions options, Action<string> log)
    {
        RenderSocket.SetCloseOnExec(socketFd);
        var renderOptions = new RenderServerOptions { Log = log };
        var workers = isolation == "process" ? new WorkerProcesses(record, log, render: true, maxWorkers: maxWorkers) : null;
        IRenderContextLauncher launcher = workers != null
            ? new WorkerLauncher(workers)
            : new ThreadContextLauncher(new RenderContextFactory(vk, options), renderOptions);
        log($"venus-host: render server {Environment.ProcessId} on fd {socketFd} ({isolation} isolation, protocol vk.xml 1.4.{Venus.Protocol.VenusProtocolInfo.VkXmlVersion & 0xfff})");
        bool clean = new RenderServer(socketFd, launcher, renderOptions).Run();
        workers?.StopAll();
        return clean ? 0 : 1;
    }

    sealed class WorkerLauncher(WorkerProcesses workers) : IRenderContextLauncher
    {
        public void Launch(int contextSocket, uint contextId, string name) => workers.Start(contextSocket, (int)contextId, name);
    }

    /// <summary>Log lines to stderr, or appended to VENUS_HOST_LOG when it is set (one line per write, so processes can share it).</summary>
    static Action<string> Logger()
    {
        string? path = Environment.GetEnvironmentVariable("VENUS_HOST_LOG");
        if (string.IsNullOrEmpty(path)) return line => { lock (Console.Error) Console.Error.WriteLine(line); };
        int fd = Posix.OpenAppend(path);
        if (fd < 0) throw new IOException($"cannot open VENUS_HOST_LOG={path} (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        return line =>
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes($"{DateTime.UtcNow:HH:mm:ss.fff} [{Environment.ProcessId}] {line}\n");
            Posix.Write(fd, bytes);
        };
    }
}
