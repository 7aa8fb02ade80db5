using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Venus.HostRenderer.Context;
using Venus.HostRenderer.Native;
using Venus.HostRenderer.Rings;
using Venus.HostRenderer.Server;
using Venus.Native;
using Venus.Protocol;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Venus.Transport.RenderServer;
using Venus.Transport.Vtest.Server;

namespace Venus.Fuzz;

/// <summary>
/// The entry point, in a class without static state: instrumented assemblies (eng/fuzz.sh) write
/// edge counts into a map from their first instruction on: a private one (64 KiB, SharpFuzz's map
/// size) until <c>Fuzzer.Run</c> attaches AFL's shared map, and for good outside afl-fuzz (--run,
/// seeds, dict).
/// </summary>
internal static unsafe class Entry
{
    public static int Main(string[] args)
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
            SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(1 << 16);
        return Program.Start(args);
    }
}

/// <summary>A host bug an input exposed: an exception where validation should have refused the bytes.</summary>
internal sealed class FuzzFinding(string message) : Exception(message);

/// <summary>
/// venus-fuzz: fuzz targets for everything in venus-host that reads guest bytes. Under afl-fuzz
/// (SharpFuzz, persistent mode) a target reads one input per iteration; an escaping exception is a
/// crash. Targets: <c>decoder</c> (a virtqueue command stream through the generated decoder and
/// dispatcher, on <see cref="FakeVulkan"/>), <c>vtest</c> (the bytes a vtest client sends, through
/// the vtest server's framing into the same host contexts), <c>render</c> (the packets a VMM sends
/// on a render-server context socket), <c>ring</c> (a ring's layout, head, tail and status words
/// and command bytes as a hostile guest writes them, consumed by the host's ring thread).
/// </summary>
public static unsafe partial class Program
{
    const string Usage =
        "usage: venus-fuzz TARGET                      run under afl-fuzz (input on stdin / AFL's shared memory)\n" +
        "       venus-fuzz TARGET --run PATH...        run each input file (or every file of a folder) once; exit 1 on a finding\n" +
        "       venus-fuzz seeds OUTROOT RECORDING...  seeds from venus-host recordings (--record) into OUTROOT/{decoder,vtest,render,ring}\n" +
        "       venus-fuzz ring-seeds DECODER_DIR OUT [RENDER_OUT]  ring seeds: each decoder seed behind a ring header (16 KiB buffer,\n" +
        "                                              Mesa's layout); with RENDER_OUT also render seeds (INIT, a resource, SUBMIT_CMD, SUBMIT_FENCE)\n" +
        "       venus-fuzz lavapipe-seeds OUT RECORDING...  lavapipe seeds: each recording's commands in order, its rings' control\n" +
        "                                              commands left out (what ran on a ring runs on the virtqueue instead)\n" +
        "       venus-fuzz dict FILE                   write an AFL dictionary of command types and sTypes\n" +
        "       venus-fuzz spirv-time FILE.spv...      time venus-host's SPIR-V check of each module (first call, then cached)\n" +
        "targets: decoder, vtest, render, ring, lavapipe (the real driver: run inside the peers chroot, see eng/fuzz.sh)";

    static readonly HostOptions Options = new() { Log = static _ => { }, MaxCommandBytes = 16UL << 20, MaxSharedBytes = 64UL << 20, MaxObjects = 4096 };

    static readonly Dictionary<string, Action<ReadOnlySpan<byte>>> Targets = new()
    {
        ["decoder"] = Decoder,
        ["vtest"] = Vtest,
        ["render"] = Render,
        ["ring"] = Ring,
        ["lavapipe"] = LavapipeTarget,
    };

    public static int Start(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (FuzzFinding e)
        {
            Console.Error.WriteLine($"venus-fuzz: finding: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"venus-fuzz: {e.Message}");
            return 2;
        }
    }

    static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.Error.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        if (args[0] == "seeds")
        {
            if (args.Length < 3) { Console.Error.WriteLine(Usage); return 2; }
            return Seeds(args[1], args[2..]);
        }
        if (args[0] == "ring-seeds")
        {
            if (args.Length is not (3 or 4)) { Console.Error.WriteLine(Usage); return 2; }
            return RingSeeds(args[1], args[2], args.Length == 4 ? args[3] : null);
        }
        if (args[0] == "lavapipe-seeds")
        {
            if (args.Length < 3) { Console.Error.WriteLine(Usage); return 2; }
            return LavapipeSeeds(args[1], args[2..]);
        }
        if (args[0] == "spirv-time") return SpirvTime(args[1..]);
        if (args[0] == "dict")
        {
            if (args.Length != 2) { Console.Error.WriteLine(Usage); return 2; }
            return Dictionary(args[1]);
        }
        if (!Targets.TryGetValue(args[0], out var target)) { Console.Error.WriteLine($"venus-fuzz: unknown target '{args[0]}'\n{Usage}"); return 2; }
        if (args.Length == 1)
        {
            Action<Stream> run = stream =>
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                target(copy.GetBuffer().AsSpan(0, (int)copy.Length));
            };
            // On the real driver an input can crash the process itself (a driver fault on invalid
            // usage the host let through): SharpFuzz's out-of-process loop reports that as a crash
            // and starts a fresh child, where its in-process loop would take afl-fuzz down with it.
            if (args[0] == "lavapipe") SharpFuzz.Fuzzer.OutOfProcess.Run(run);
            else SharpFuzz.Fuzzer.Run(run);
            return 0;
        }
        if (args[1] != "--run" || args.Length < 3) { Console.Error.WriteLine(Usage); return 2; }
        int inputs = 0, findings = 0;
        foreach (string path in args[2..].SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
        {
            if (!File.Exists(path)) { Console.Error.WriteLine($"venus-fuzz: no such input: {path}"); return 2; }
            inputs++;
            try
            {
                target(File.ReadAllBytes(path));
            }
            catch (Exception e)
            {
                findings++;
                Console.Error.WriteLine($"venus-fuzz: {args[0]}: {path}: {e.GetType().Name}: {e.Message}");
            }
        }
        Console.WriteLine($"venus-fuzz: {args[0]}: {inputs} inputs, {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    /// <summary>VENUS_FUZZ_VERBOSE=1: each input's outcome on stderr (with --run).</summary>
    static readonly bool Verbose = Environment.GetEnvironmentVariable("VENUS_FUZZ_VERBOSE") is "1" or "2";

    /// <summary>VENUS_FUZZ_VERBOSE=2: each traced command with its decoded arguments, not only its name.</summary>
    static readonly bool VerboseArgs = Environment.GetEnvironmentVariable("VENUS_FUZZ_VERBOSE") == "2";

    /// <summary>The reason a context ended that is a host bug rather than a refusal: an exception in decode or dispatch.</summary>
    static void Check(HostContext ctx)
    {
        if (Verbose) Console.Error.WriteLine($"venus-fuzz: context ended: {ctx.FatalReason ?? "(no error)"}");
        if (ctx.FatalReason is { } reason && reason.Contains(" threw ", StringComparison.Ordinal))
            throw new FuzzFinding(reason);
    }

    /// <summary>A virtqueue command stream through a fresh context, with one 64 KiB shared-memory resource (id 1) for reply streams and rings.</summary>
    static void Decoder(ReadOnlySpan<byte> data)
    {
        var ctx = new HostContext(FakeVulkan.Library, Options, "fuzz");
        try
        {
            if (ctx.CreateBlob(2, 1, 64 * 1024, 0, out string? error) == null) throw new InvalidOperationException($"no shared memory: {error}");
            ctx.Submit(data, 0, static () => { });
            Check(ctx);
        }
        finally
        {
            ctx.Dispose();
        }
    }

    static VulkanLibrary? s_lavapipe;
    /// <summary>
    /// Milliseconds one <c>lavapipe</c> input may run before its context is ended (afl-fuzz's -t is the
    /// bound past that); VENUS_FUZZ_BUDGET_MS sets another for a replay (--run) on a loaded machine,
    /// where the first vkCreateDevice of a process alone can take longer.
    /// </summary>
    static readonly int LavapipeBudgetMs = int.TryParse(Environment.GetEnvironmentVariable("VENUS_FUZZ_BUDGET_MS"), out int ms) && ms > 0 ? ms : 1500;
    static readonly ulong[] LavapipeResources = [256 * 1024, 1 << 20, 1 << 20];

    /// <summary>Most bytes of one <c>lavapipe</c> input: a recorded session's start (the seeds are 64 KiB at most).</summary>
    const int MaxLavapipeInput = 64 * 1024;

    /// <summary>
    /// The <c>decoder</c> target on the real driver (lavapipe in the peers chroot, see
    /// <see cref="Lavapipe"/>): a command stream through a fresh context (shared-memory resources 1–3, as
    /// Mesa's guest makes them) whose handlers call the driver; the context's teardown destroys what the
    /// input left. An exception out of decode or dispatch is a finding; a driver crash is a crash.
    /// </summary>
    static void LavapipeTarget(ReadOnlySpan<byte> data)
    {
        var vk = s_lavapipe ??= Lavapipe.Load();
        if (data.Length > MaxLavapipeInput) data = data[..MaxLavapipeInput];
        var ctx = new HostContext(vk, Options, "fuzz");
        // The time bound: a context still running after LavapipeBudgetMs is ended the way the host
        // ends any context (Fatal wakes its ring waiters), as a server would drop a client that
        // waits on itself for ever (a vkWaitRingSeqnoMESA for a ring nobody fills).
        var watchdog = new Timer(static c => ((HostContext)c!).Fatal("venus-fuzz: the input ran past its time budget"), ctx, Timeout.Infinite, Timeout.Infinite);
        long start = Environment.TickCount64;
        try
        {
            // The shared memory Mesa's guest makes first, which the recorded sessions use from their
            // first command on: its ring (resource 1: 128 KiB and the control words) and its reply
            // streams (2 and 3).
            foreach (ulong size in LavapipeResources)
                if (ctx.CreateBlob(2, 1, size, 0, out string? error) == null) throw new InvalidOperationException($"no shared memory: {error}");
            watchdog.Change(LavapipeBudgetMs, Timeout.Infinite);
            if (Verbose) Trace(ctx, data);
            else ctx.Submit(data, 0, static () => { });
        }
        finally
        {
            watchdog.Dispose();
            long ran = Environment.TickCount64 - start;
            ctx.Dispose();
            Lavapipe.Release();
            if (Verbose) Console.Error.WriteLine($"venus-fuzz: {ran} ms, teardown {Environment.TickCount64 - start - ran} ms, RSS {Environment.WorkingSet >> 20} MiB");
        }
        Check(ctx);
    }

    /// <summary>
    /// <c>spirv-time</c>: venus-host's check of guest SPIR-V (<see cref="SpirvTools.Check"/>, for a
    /// Vulkan 1.3 device) on each module file: its result, the first call's time (validator run) and
    /// the median of 100 repeated calls (the cache of valid modules). A first check of an unrelated
    /// module beforehand keeps the validator's set-up out of the figures.
    /// </summary>
    static int SpirvTime(string[] files)
    {
        if (files.Length == 0) { Console.Error.WriteLine("venus-fuzz: spirv-time needs module files"); return 2; }
        Console.WriteLine($"venus-fuzz: {SpirvTools.Status}");
        const uint Vulkan13 = (1u << 22) | (3u << 12);
        uint[] warm = [0x07230203, 0x00010000, 0, 1, 0];
        fixed (uint* w = warm) SpirvTools.Check(w, 20, Vulkan13);
        foreach (var file in files)
        {
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); }
            catch (IOException e) { Console.Error.WriteLine($"venus-fuzz: {file}: {e.Message}"); return 1; }
            fixed (byte* b = bytes)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                string? result = SpirvTools.Check((uint*)b, (nuint)bytes.Length, Vulkan13);
                double first = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                var again = new double[100];
                for (int i = 0; i < again.Length; i++)
                {
                    t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    SpirvTools.Check((uint*)b, (nuint)bytes.Length, Vulkan13);
                    again[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                Array.Sort(again);
                Console.WriteLine($"{Path.GetFileName(file)}: {bytes.Length} bytes, {result ?? "valid"}; first {first:0.000} ms, cached {again[50]:0.000} ms (median of 100)");
            }
        }
        return 0;
    }

    /// <summary>VENUS_FUZZ_VERBOSE=1: the stream one command at a time, each named on stderr before it runs (which command a driver crash is in).</summary>
    static void Trace(HostContext ctx, ReadOnlySpan<byte> data)
    {
        int pos = 0;
        while (pos < data.Length && !ctx.IsFatal)
        {
            string name = data.Length - pos >= 4 ? VenusProtocolInfo.CommandName((int)BinaryPrimitives.ReadUInt32LittleEndian(data[pos..])) ?? "?" : "(cut)";
            if (VerboseArgs)
            {
                using var arena = new VnArena();
                var text = new System.Text.StringBuilder();
                if (VenusCommandText.Describe(data[pos..], text, arena, out _, out _)) name = text.ToString();
            }
            Console.Error.WriteLine($"venus-fuzz: @{pos} {name}");
            int used = ctx.Virtqueue.ExecuteOne(data[pos..]);
            if (used <= 0) break;
            pos += used;
        }
    }

    /// <summary>Bytes before a ring input's commands: see <see cref="Ring"/>.</summary>
    internal const int RingHeader = 16;

    /// <summary>
    /// A ring as a hostile guest drives it. The input is a 16-byte header, then command bytes:
    /// byte 0 picks the buffer size (4 KiB × 2^(b % 5)); byte 1 flags: 1 = the layout's head, tail
    /// and status offsets come from bytes 4–9 (u16 each) instead of Mesa's, 2 = a monitor pNext,
    /// 4 = status and head hold garbage at creation, 8 = a second tail (bytes 12–15) written after
    /// the first chunk ran (a tail that jumps back, past the buffer, or onto stale bytes). The
    /// commands go into the buffer from its start (cut to its size) and the tail is set past them;
    /// the ring thread runs them through the dispatcher on the fake driver. A refused layout, a
    /// tail too far ahead or a command cut by the tail end the context; an exception is a finding.
    /// </summary>
    static void Ring(ReadOnlySpan<byte> data)
    {
        if (data.Length < RingHeader) return;
        var ctx = new HostContext(FakeVulkan.Library, Options, "fuzz");
        try
        {
            const ulong ResourceSize = 256 * 1024;
            var resource = ctx.CreateBlob(2, 1, ResourceSize, 0, out string? error) ?? throw new InvalidOperationException($"no shared memory: {error}");
            byte flags = data[1];
            ulong bufferSize = 4096UL << (data[0] % 5);
            var layout = RingLayout.Mesa(bufferSize);
            if ((flags & 1) != 0)
            {
                layout.HeadOffset = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                layout.TailOffset = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
                layout.StatusOffset = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
            }
            if ((flags & 4) != 0 && layout.HeadOffset + 4 <= ResourceSize && layout.StatusOffset + 4 <= ResourceSize)
            {
                *(uint*)(resource.Map + layout.HeadOffset) = 0xdead;
                *(uint*)(resource.Map + layout.StatusOffset) = 0xffffffff;
            }
            var monitor = new VkRingMonitorInfoMESA { sType = VkRingMonitorInfoMESA.SType, maxReportingPeriodMicroseconds = 3_000_000 };
            var info = new VkRingCreateInfoMESA
            {
                sType = VkRingCreateInfoMESA.SType,
                pNext = (flags & 2) != 0 ? &monitor : null,
                resourceId = resource.Id,
                offset = (nuint)layout.Offset, size = (nuint)layout.Size, idleTimeout = layout.IdleTimeoutNs,
                headOffset = (nuint)layout.HeadOffset, tailOffset = (nuint)layout.TailOffset, statusOffset = (nuint)layout.StatusOffset,
                bufferOffset = (nuint)layout.BufferOffset, bufferSize = (nuint)layout.BufferSize,
                extraOffset = (nuint)layout.ExtraOffset, extraSize = (nuint)layout.ExtraSize,
            };
            const ulong RingId = 0x4000;
            if (!ctx.CreateRing(RingId, &info) || !ctx.TryGetRing(RingId, out var ring)) return;
            ReadOnlySpan<byte> commands = data[RingHeader..];
            if ((ulong)commands.Length > bufferSize) commands = commands[..(int)bufferSize];
            uint* tail = (uint*)(resource.Map + layout.TailOffset);
            commands.CopyTo(new Span<byte>(resource.Map + layout.BufferOffset, commands.Length));
            RunTo(ctx, ring, tail, (uint)commands.Length);
            if ((flags & 8) != 0 && !ctx.IsFatal)
                RunTo(ctx, ring, tail, BinaryPrimitives.ReadUInt32LittleEndian(data[12..]));
        }
        finally
        {
            ctx.Dispose();
        }
        Check(ctx);

        // Publishes a tail and waits (at most 200 ms) until the ring thread has run up to it or the
        // context ended. A ring that stops short of the tail (waiting on a seqno nobody submits, a
        // command cut by the tail) is then torn down as it is; a longer wait only slowed the
        // campaign (a second per such input: 2 exec/s in stages full of them).
        static void RunTo(HostContext ctx, Venus.HostRenderer.Rings.HostRing ring, uint* tail, uint value)
        {
            Volatile.Write(ref *tail, value);
            ring.Notify();
            long deadline = Environment.TickCount64 + 200;
            while (ring.Head != value && !ctx.IsFatal && !ring.IsFaulted && Environment.TickCount64 < deadline)
                Thread.Yield();
        }
    }

    static readonly VtestRendererFactory VtestFactory = new(FakeVulkan.Library, Options);

    /// <summary>
    /// The bytes a vtest client sends (the whole conversation, then the end of the stream) served by
    /// the vtest server's client loop on a socketpair, with venus-host's renderer on the fake driver.
    /// A dropped client is the expected outcome of bad bytes; an internal server error is a finding.
    /// </summary>
    static void Vtest(ReadOnlySpan<byte> data)
    {
        (int server, int client) = VtestHandOffChannel.Create();
        string? finding = null;
        try
        {
            const int F_SETFL = 4, O_NONBLOCK = 0x800;
            Libc.Fcntl(client, F_SETFL, O_NONBLOCK);
            fixed (byte* p = data)
            {
                nint sent = 0;
                while (sent < data.Length)
                {
                    nint n = Libc.Write(client, p + sent, (nuint)(data.Length - sent));
                    if (n <= 0) break; // the socket buffer is full: the rest is cut off
                    sent += n;
                }
            }
            Libc.Shutdown(client, 1); // SHUT_WR: the end of the client's stream
            var options = new VtestServerOptions
            {
                SendTimeout = TimeSpan.FromMilliseconds(20),
                MaxSubmitBytes = 1 << 20,
                Log = line =>
                {
                    if (line.Contains("internal server error", StringComparison.Ordinal) || line.Contains(" threw ", StringComparison.Ordinal) ||
                        line.Contains("teardown failed", StringComparison.Ordinal))
                        finding ??= line;
                },
            };
            VtestConnection.Serve(server, 1, VtestFactory, options);
            server = -1; // the client loop closed it
        }
        finally
        {
            if (server >= 0) VtestConnection.Close(server);
            VtestConnection.Close(client);
        }
        if (finding != null) throw new FuzzFinding(finding);
    }

    static readonly RenderContextFactory RenderFactory = new(FakeVulkan.Library, Options);

    /// <summary>Most packets one render input sends: the server's replies (CREATE_RESOURCE) must fit the socket, which nobody reads.</summary>
    const int MaxRenderPackets = 64;

    /// <summary>
    /// Packets of a render-server context socket (SEQPACKET), each <c>u16 length, bytes</c> in the
    /// input, served by the context loop with venus-host's renderer on the fake driver. A packet
    /// whose op is INIT carries real fds as a VMM sends them (a memfd for the fence seqnos and an
    /// eventfd), one whose op is IMPORT_RESOURCE a 64 KiB memfd, so inputs get past INIT into
    /// CREATE_RESOURCE, SUBMIT_CMD and SUBMIT_FENCE. An exception other than the renderer's refusal
    /// (<c>ended: XException: ...</c>) or a failed teardown is a finding.
    /// </summary>
    static void Render(ReadOnlySpan<byte> data)
    {
        (int server, int client) = RenderSocket.CreatePair();
        string? finding = null;
        try
        {
            const int F_SETFL = 4, O_NONBLOCK = 0x800;
            Libc.Fcntl(client, F_SETFL, O_NONBLOCK); // a full socket buffer cuts the input off instead of blocking
            int pos = 0, packets = 0;
            Span<int> fds = stackalloc int[2];
            while (pos < data.Length && packets++ < MaxRenderPackets)
            {
                bool framed = data.Length - pos >= 2;
                int start = framed ? pos + 2 : pos;
                int length = framed ? Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]), data.Length - start) : data.Length - pos;
                ReadOnlySpan<byte> packet = data.Slice(start, length);
                uint op = packet.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(packet) : uint.MaxValue;
                int count = 0;
                if (op == RenderProtocol.ContextOpInit)
                {
                    fds[count++] = SharedFile(RenderProtocol.FenceShmemSize);
                    fds[count++] = Libc.EventFd(0, Libc.EFD_CLOEXEC);
                }
                else if (op == RenderProtocol.ContextOpImportResource)
                    fds[count++] = SharedFile(64 * 1024);
                bool sent = RenderSocket.Send(client, packet, fds[..count]);
                foreach (int fd in fds[..count]) RenderSocket.Close(fd);
                if (!sent) break; // the socket buffer is full
                pos = start + length;
            }
            Libc.Shutdown(client, 1);
            var options = new RenderServerOptions
            {
                MaxSubmitBytes = 1 << 20,
                Log = line =>
                {
                    if (Verbose) Console.Error.WriteLine(line);
                    if (System.Text.RegularExpressions.Regex.IsMatch(line, @"ended: \w+Exception: |teardown: "))
                        finding ??= line;
                },
            };
            RenderContextConnection.Serve(server, 1, "fuzz", RenderFactory, options);
            server = -1; // the context closed it
        }
        finally
        {
            if (server >= 0) RenderSocket.Close(server);
            RenderSocket.Close(client);
        }
        if (finding != null) throw new FuzzFinding(finding);

        static int SharedFile(int size)
        {
            int fd;
            fixed (byte* name = "venus-fuzz\0"u8) fd = Libc.MemfdCreate(name, Libc.MFD_CLOEXEC);
            if (fd < 0 || Libc.Ftruncate(fd, size) != 0) throw new InvalidOperationException($"memfd: errno {Marshal.GetLastPInvokeError()}");
            return fd;
        }
    }

    /// <summary>
    /// Seeds from venus-host recordings (one command per record): for <c>decoder</c> one file per
    /// distinct command plus each recording's first 64 KiB of commands in order (a session that
    /// creates its instance and device first); for <c>vtest</c> the same streams inside the
    /// messages Mesa's guest sends (§6.4: CREATE_RENDERER, PROTOCOL_VERSION, CONTEXT_INIT, a shared
    /// memory blob, SUBMIT_CMD2).
    /// </summary>
    static int Seeds(string outRoot, string[] recordings)
    {
        string decoder = Path.Combine(outRoot, "decoder"), vtest = Path.Combine(outRoot, "vtest"), render = Path.Combine(outRoot, "render"), ring = Path.Combine(outRoot, "ring");
        Directory.CreateDirectory(ring);
        Directory.CreateDirectory(decoder);
        Directory.CreateDirectory(vtest);
        Directory.CreateDirectory(render);
        int written = 0, seen = 0;
        var perCommand = new Dictionary<string, int>();
        void Save(string name, ReadOnlySpan<byte> stream)
        {
            // A few of each command are enough to start from: AFL splices and mutates the rest.
            if (perCommand.GetValueOrDefault(name) >= 3 && name != "session") return;
            string hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
            string file = Path.Combine(decoder, $"{name}-{hash}");
            if (File.Exists(file)) return;
            File.WriteAllBytes(file, stream.ToArray());
            File.WriteAllBytes(Path.Combine(vtest, $"{name}-{hash}"), VtestConversation(stream));
            File.WriteAllBytes(Path.Combine(render, $"{name}-{hash}"), RenderPackets(stream));
            File.WriteAllBytes(Path.Combine(ring, $"{name}-{hash}"), RingInput(stream));
            perCommand[name] = perCommand.GetValueOrDefault(name) + 1;
            written++;
        }
        foreach (string path in recordings)
        {
            byte[] bytes = File.ReadAllBytes(path);
            var session = new MemoryStream();
            foreach (VenusRecording.Record r in VenusRecording.Read(bytes))
            {
                seen++;
                ReadOnlySpan<byte> command = bytes.AsSpan(r.Offset, r.Length);
                if (r.Length % 4 != 0) continue;
                int type = (int)BinaryPrimitives.ReadUInt32LittleEndian(command);
                Save(VenusProtocolInfo.CommandName(type) ?? $"type{type}", command);
                if (session.Length + command.Length <= 64 * 1024) session.Write(command);
            }
            Save("session", session.GetBuffer().AsSpan(0, (int)session.Length));
        }
        Console.WriteLine($"venus-fuzz: {seen} commands, {written} new seeds in {decoder}, {vtest} and {render}");
        return 0;
    }

    /// <summary>
    /// <paramref name="stream"/> as SUBMIT_CMD (op 5: u32 op, u32 size, 256 bytes inline, the rest in
    /// one more packet), each packet framed <c>u16 length</c> for the render target.
    /// </summary>
    static byte[] RenderPackets(ReadOnlySpan<byte> stream)
    {
        var m = new MemoryStream();
        RenderPreamble(m);
        Span<byte> packet = stackalloc byte[264];
        packet.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(packet, 5);
        BinaryPrimitives.WriteUInt32LittleEndian(packet[4..], (uint)stream.Length);
        int inline = Math.Min(stream.Length, 256);
        stream[..inline].CopyTo(packet[8..]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, 264);
        m.Write(length);
        m.Write(packet);
        if (stream.Length > inline)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)Math.Min(stream.Length - inline, ushort.MaxValue));
            m.Write(length);
            m.Write(stream[inline..]);
        }
        // SUBMIT_FENCE: op, flags, ring 0, seqno 1.
        BinaryPrimitives.WriteUInt16LittleEndian(length, 16);
        m.Write(length);
        Span<byte> fence = stackalloc byte[16];
        fence.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(fence, RenderProtocol.ContextOpSubmitFence);
        BinaryPrimitives.WriteUInt32LittleEndian(fence[12..], 1);
        m.Write(fence);
        return m.ToArray();
    }

    /// <summary>
    /// What a VMM sends first on a context socket: INIT (op, the venus capset, a fence shmem of 256 bytes; the
    /// target attaches the fds) and CREATE_RESOURCE of resource 1 (blob_id 0, 64 KiB, mappable) for
    /// reply streams and rings; each framed <c>u16 length</c>.
    /// </summary>
    static void RenderPreamble(MemoryStream m)
    {
        Span<byte> p = stackalloc byte[2 + RenderProtocol.ContextInitSize + 2 + RenderProtocol.CreateResourceSize];
        p.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(p, RenderProtocol.ContextInitSize);
        BinaryPrimitives.WriteUInt32LittleEndian(p[2..], RenderProtocol.ContextOpInit);
        BinaryPrimitives.WriteUInt32LittleEndian(p[6..], RenderProtocol.CapsetVenus);
        BinaryPrimitives.WriteUInt64LittleEndian(p[10..], RenderProtocol.FenceShmemSize);
        var create = p[(2 + RenderProtocol.ContextInitSize)..];
        BinaryPrimitives.WriteUInt16LittleEndian(create, RenderProtocol.CreateResourceSize);
        BinaryPrimitives.WriteUInt32LittleEndian(create[2..], RenderProtocol.ContextOpCreateResource);
        BinaryPrimitives.WriteUInt32LittleEndian(create[6..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(create[18..], 64 * 1024);
        BinaryPrimitives.WriteUInt32LittleEndian(create[26..], RenderProtocol.BlobFlagMappable);
        m.Write(p);
    }

    /// <summary>Mesa's start-up messages (§6.4), then <paramref name="stream"/> in one SUBMIT_CMD2 on ring_idx 0.</summary>
    static byte[] VtestConversation(ReadOnlySpan<byte> stream)
    {
        var m = new MemoryStream();
        void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); m.Write(b); }
        U32(8); U32(8); m.Write("fuzzer\0\0"u8);          // CREATE_RENDERER: length in bytes
        U32(1); U32(11); U32(3);                          // PROTOCOL_VERSION 3
        U32(1); U32(17); U32(4);                          // CONTEXT_INIT venus
        U32(6); U32(18); U32(2); U32(1); U32(64 * 1024); U32(0); U32(0); U32(0); // shared memory, resource 1
        uint dwords = (uint)(stream.Length / 4);
        U32(1 + 6 + dwords); U32(24);                     // SUBMIT_CMD2: one batch, no syncs, ring_idx 0
        U32(1); U32(0); U32(7); U32(dwords); U32(7 + dwords); U32(0); U32(0);
        m.Write(stream);
        return m.ToArray();
    }

    /// <summary>Commands that drive a guest's rings, left out of the <c>lavapipe</c> seeds.</summary>
    static readonly HashSet<string> RingControl =
        ["vkCreateRingMESA", "vkDestroyRingMESA", "vkNotifyRingMESA", "vkWriteRingExtraMESA", "vkSubmitVirtqueueSeqnoMESA", "vkWaitVirtqueueSeqnoMESA", "vkWaitRingSeqnoMESA"];

    /// <summary>
    /// Seeds for the <c>lavapipe</c> target: each recording as one stream, every command (virtqueue and
    /// ring) in the order the host ran it, without the ring-control commands: in a recorded session
    /// the guest waits for its ring to reach a seqno, and with the ring's commands inline on the
    /// virtqueue that ring never runs, so the wait would hold the rest of the session back.
    /// </summary>
    static int LavapipeSeeds(string outDir, string[] recordings)
    {
        Directory.CreateDirectory(outDir);
        int written = 0;
        foreach (string path in recordings)
        {
            byte[] bytes = File.ReadAllBytes(path);
            var session = new MemoryStream();
            int kept = 0, dropped = 0;
            foreach (VenusRecording.Record r in VenusRecording.Read(bytes))
            {
                ReadOnlySpan<byte> command = bytes.AsSpan(r.Offset, r.Length);
                if (r.Length < 4 || r.Length % 4 != 0) continue;
                string? name = VenusProtocolInfo.CommandName((int)BinaryPrimitives.ReadUInt32LittleEndian(command));
                if (name != null && RingControl.Contains(name)) { dropped++; continue; }
                if (session.Length + command.Length > MaxLavapipeInput) break;
                session.Write(command);
                kept++;
            }
            ReadOnlySpan<byte> stream = session.GetBuffer().AsSpan(0, (int)session.Length);
            string hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
            string label = Path.GetFileNameWithoutExtension(path);
            File.WriteAllBytes(Path.Combine(outDir, $"session-{label}-{hash}"), stream.ToArray());
            Console.WriteLine($"venus-fuzz: {path}: {kept} commands ({stream.Length} bytes), {dropped} ring-control commands left out");
            written++;
        }
        Console.WriteLine($"venus-fuzz: {written} lavapipe seeds in {outDir}");
        return 0;
    }

    /// <summary><paramref name="commands"/> behind a ring header: a 16 KiB buffer in Mesa's layout, no flags.</summary>
    static byte[] RingInput(ReadOnlySpan<byte> commands)
    {
        var seed = new byte[RingHeader + commands.Length];
        seed[0] = 2; // 4 KiB << 2
        commands.CopyTo(seed.AsSpan(RingHeader));
        return seed;
    }

    /// <summary>Each decoder seed as the commands of a ring input: a header for a 16 KiB buffer in Mesa's layout, no flags.</summary>
    static int RingSeeds(string decoderDir, string outDir, string? renderDir)
    {
        if (!Directory.Exists(decoderDir)) { Console.Error.WriteLine($"venus-fuzz: no such folder: {decoderDir}"); return 2; }
        Directory.CreateDirectory(outDir);
        if (renderDir != null) Directory.CreateDirectory(renderDir);
        int written = 0;
        foreach (string path in Directory.EnumerateFiles(decoderDir).Order(StringComparer.Ordinal))
        {
            byte[] commands = File.ReadAllBytes(path);
            File.WriteAllBytes(Path.Combine(outDir, Path.GetFileName(path)), RingInput(commands));
            if (renderDir != null) File.WriteAllBytes(Path.Combine(renderDir, Path.GetFileName(path)), RenderPackets(commands));
            written++;
        }
        Console.WriteLine($"venus-fuzz: {written} ring seeds in {outDir}");
        return 0;
    }

    /// <summary>Every command type and every VkStructureType as a little-endian u32 token.</summary>
    static int Dictionary(string file)
    {
        using var w = new StreamWriter(file);
        w.WriteLine("# venus-fuzz dict: command types and sTypes as little-endian u32 (written by `venus-fuzz dict`)");
        int commands = 0, stypes = 0;
        for (int type = 0; type < 1024; type++)
        {
            if (VenusProtocolInfo.CommandName(type) is not { } name) continue;
            w.WriteLine($"cmd_{name}=\"{Escape((uint)type)}\"");
            commands++;
        }
        foreach (VkStructureType s in Enum.GetValues<VkStructureType>().Distinct())
        {
            w.WriteLine($"stype_{(uint)s}=\"{Escape((uint)s)}\"");
            stypes++;
        }
        Console.WriteLine($"venus-fuzz: {commands} command types, {stypes} sTypes in {file}");
        return 0;

        static string Escape(uint v) => string.Concat(BitConverter.GetBytes(v).Select(b => $"\\x{b:x2}"));
    }
}
