using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Venus.Protocol;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Venus.Client;
using Venus.Transport.Vtest;

namespace Venus.Cli;

/// <summary>
/// <c>venus replay FILE [--socket PATH] [--verbose]</c>: plays a recording (venus-host's <c>--record</c> or our
/// ICD's <c>VENUS_RECORD</c>) against a vtest host in a fresh context, one command per submission on
/// the virtqueue, and checks every reply. The guest-chosen object ids are kept (a fresh context has
/// none in use); what only made sense on the recording's transport is left out: ring set-up and
/// notification (<c>vkCreateRingMESA</c>, <c>vkNotifyRingMESA</c>, …) and
/// <c>vkExecuteCommandStreamsMESA</c> (the streams it named are recorded as their own commands);
/// <c>vkSetReplyCommandStreamMESA</c> is pointed at the replayer's own reply blob. A command whose
/// reply carries a negative VkResult, or after which the host stops answering, fails the replay.
/// Prints the time per command type. Exit 0 only when every replayed command succeeded.
/// </summary>
public static unsafe class VenusReplay
{
    public sealed record Outcome(int Replayed, int Skipped, int Failed, List<string> Failures, List<string> Notes,
        SortedDictionary<string, (int Count, double Ms)> Times);

    private static readonly HashSet<int> TransportOnly =
    [
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkCreateRingMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkDestroyRingMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkNotifyRingMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWriteRingExtraMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkSubmitVirtqueueSeqnoMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWaitVirtqueueSeqnoMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWaitRingSeqnoMESA_EXT,
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkExecuteCommandStreamsMESA_EXT,
    ];

    public static int Run(ReadOnlySpan<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? file = null, socket = null;
        bool verbose = false, json = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--socket":
                    if (i + 1 >= args.Length || args[i + 1].Length == 0)
                        return VenusCli.UsageError(stderr, "replay: --socket needs a path");
                    socket = args[++i];
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                case "--json":
                    json = true;
                    break;
                case var a when a.StartsWith('-'):
                    return VenusCli.UsageError(stderr, $"replay: unknown option '{a}'");
                default:
                    if (file is not null)
                        return VenusCli.UsageError(stderr, "replay: more than one file");
                    file = args[i];
                    break;
            }
        }
        if (file is null)
            return VenusCli.UsageError(stderr, "replay: no file given");
        socket ??= Environment.GetEnvironmentVariable("VTEST_SOCKET_NAME") is { Length: > 0 } env ? env : VtestProtocol.DefaultSocketPath;
        if (!File.Exists(file))
        {
            stderr.WriteLine($"venus replay: {file}: no such file");
            return VenusCli.ExitFailed;
        }

        List<(string Stream, byte[] Bytes)> commands;
        try
        {
            commands = Split(File.ReadAllBytes(file));
        }
        catch (InvalidDataException e)
        {
            stderr.WriteLine($"venus replay: {file}: {e.Message}");
            return VenusCli.ExitFailed;
        }

        Outcome outcome;
        try
        {
            outcome = Replay(commands, socket, verbose ? stderr : null);
        }
        catch (VtestException e)
        {
            stderr.WriteLine($"venus replay: {e.Message}");
            return VenusCli.ExitFailed;
        }
        if (json)
            WriteJson(stdout, file, socket, outcome);
        else
        {
            stdout.WriteLine($"{"command",-44} {"count",7} {"total ms",10} {"mean us",10}");
            foreach ((string name, (int count, double ms)) in outcome.Times.OrderByDescending(t => t.Value.Ms))
                stdout.WriteLine($"{name,-44} {count,7} {ms,10:0.000} {ms * 1000 / count,10:0.0}");
        }
        foreach (string note in outcome.Notes)
            stderr.WriteLine($"venus replay: note: {note}");
        foreach (string failure in outcome.Failures)
            stderr.WriteLine($"venus replay: {failure}");
        stderr.WriteLine($"venus replay: {outcome.Replayed} commands replayed, {outcome.Skipped} left out (ring and transport commands), {outcome.Failed} failed");
        return outcome.Failed == 0 ? VenusCli.ExitOk : VenusCli.ExitFailed;
    }

    /// <summary>The outcome as JSON: counts, the time per command type (slowest first), failures and notes.</summary>
    private static void WriteJson(TextWriter w, string file, string socket, Outcome outcome)
    {
        using var stream = new MemoryStream();
        using (var j = new System.Text.Json.Utf8JsonWriter(stream, new System.Text.Json.JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("file", file);
            j.WriteString("socket", socket);
            j.WriteNumber("replayed", outcome.Replayed);
            j.WriteNumber("left_out", outcome.Skipped);
            j.WriteNumber("failed", outcome.Failed);
            j.WriteStartArray("commands");
            foreach ((string name, (int count, double ms)) in outcome.Times.OrderByDescending(t => t.Value.Ms))
            {
                j.WriteStartObject();
                j.WriteString("command", name);
                j.WriteNumber("count", count);
                j.WriteNumber("total_ms", Math.Round(ms, 3));
                j.WriteNumber("mean_us", Math.Round(ms * 1000 / count, 1));
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartArray("failures");
            foreach (string failure in outcome.Failures)
                j.WriteStringValue(failure);
            j.WriteEndArray();
            j.WriteStartArray("notes");
            foreach (string note in outcome.Notes)
                j.WriteStringValue(note);
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>The recording cut into single commands (a record of our ICD holds a whole submission).</summary>
    public static List<(string Stream, byte[] Bytes)> Split(byte[] data)
    {
        var commands = new List<(string, byte[])>();
        foreach (VenusDump.Command c in VenusDump.Commands(data))
        {
            if (!c.Decoded)
                throw new InvalidDataException($"a command in stream '{c.Stream}' at byte {c.Offset} does not decode");
            commands.Add((c.Stream, data.AsSpan(c.Offset, c.Length).ToArray()));
        }
        return commands;
    }

    private static Outcome Replay(List<(string Stream, byte[] Bytes)> commands, string socket, TextWriter? log)
    {
        // The reply blob must hold every reply stream the recording set up.
        ulong replyBytes = 1 << 20;
        foreach ((_, byte[] bytes) in commands)
            if (SetReplyStream(bytes) is { } s)
                replyBytes = Math.Max(replyBytes, s.Offset + s.Size);

        using VtestVenusSession session = VtestVenusSession.Open(socket, "venus-replay", replyBytes);
        int replayed = 0, skipped = 0, failed = 0;
        var failures = new List<string>();
        var notes = new List<string>();
        var times = new SortedDictionary<string, (int, double)>(StringComparer.Ordinal);
        ulong replyOffset = 0;
        byte[]? lastSetReply = null;
        ulong lastSetReplyOffset = 0;
        var fenceDevices = new Dictionary<ulong, ulong>(); // fence id → device id, from vkCreateFence
        for (int i = 0; i < commands.Count; i++)
        {
            byte[] bytes = commands[i].Bytes;
            int type = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
            string name = VenusProtocolInfo.CommandName(type) ?? $"command type {type}";
            if (TransportOnly.Contains(type))
            {
                skipped++;
                continue;
            }
            if (SetReplyStream(bytes) is { } stream)
            {
                replyOffset = stream.Offset;
                bytes = session.ReplyStreamCommand(stream.Offset, stream.Size);
                lastSetReply = bytes;
                lastSetReplyOffset = stream.Offset;
            }
            else if (type == (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkSeekReplyCommandStreamMESA_EXT && bytes.Length >= 16)
            {
                replyOffset += BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8));
            }

            log?.WriteLine($"venus replay: command {i}: {name} ({commands[i].Stream})");
            long start = Stopwatch.GetTimestamp();
            ReadOnlySpan<byte> reply;
            try
            {
                reply = session.SubmitRaw(bytes, name);
            }
            catch (VenusCallException e)
            {
                failed++;
                failures.Add($"command {i} ({name}, stream {commands[i].Stream}): {e.Message}; the host stopped the context, so the replay ends here");
                break;
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            replayed++;
            times[name] = times.TryGetValue(name, out var t) ? (t.Item1 + 1, t.Item2 + ms) : (1, ms);

            if (type == (int)vkCreateFence.Type && CreatedFence(bytes) is { } created)
                fenceDevices[created.Fence] = created.Device;
            else if (SubmittedFence(type, bytes) is ulong fence && fenceDevices.TryGetValue(fence, out ulong fenceDevice) &&
                     lastSetReply is not null && !FenceIdFollows(commands, i, fence))
            {
                // A driver with fence feedback (Mesa's, ours) reads the fence from shared memory, so
                // the recording never polls it: poll here, so that what follows does not destroy what
                // the submission still uses.
                if (!PollUntilDone(session, lastSetReply, FenceStatusCommand(fenceDevice, fence), "vkGetFenceStatus", lastSetReplyOffset))
                    notes.Add($"command {i} ({name}): its fence was not signalled after {PollLimit.TotalSeconds:0} s of polling");
            }

            bool wantsReply = (flags & (uint)VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT) != 0;
            if (wantsReply && VenusProtocolInfo.ReturnsResult(type))
            {
                if ((ulong)reply.Length < replyOffset + 8)
                {
                    failed++;
                    failures.Add($"command {i} ({name}): no room for its reply at offset {replyOffset}");
                    continue;
                }
                int echoed = BinaryPrimitives.ReadInt32LittleEndian(reply[(int)replyOffset..]);
                int result = BinaryPrimitives.ReadInt32LittleEndian(reply[((int)replyOffset + 4)..]);
                if (echoed != type)
                {
                    failed++;
                    failures.Add($"command {i} ({name}): the reply is for command type {echoed}");
                }
                else if (result < 0)
                {
                    failed++;
                    failures.Add($"command {i} ({name}) returned {VtestVenusSession.ResultName((VkResult)result)}");
                }
                else if (result > 0 && IsCompletionPoll(type) && lastSetReply is not null && !SamePollFollows(commands, i))
                {
                    // Where the app's polling ended the recording cannot say (done, or its own time-out):
                    // poll on for a while, so that what follows does not destroy what the device may
                    // still use; a poll that stays "not yet" is a note, not a failure.
                    if (!PollUntilDone(session, lastSetReply, commands[i].Bytes, name, replyOffset))
                        notes.Add($"command {i} ({name}) still said {VtestVenusSession.ResultName((VkResult)result)} after {PollLimit.TotalSeconds:0} s of polling (as recorded: the app's own time-out?)");
                }
            }
        }
        return new Outcome(replayed, skipped, failed, failures, notes, times);
    }

    private static readonly TimeSpan PollLimit = TimeSpan.FromSeconds(2);

    /// <summary>Commands an app repeats until they return VK_SUCCESS (VK_TIMEOUT and VK_NOT_READY mean "not yet").</summary>
    private static bool IsCompletionPoll(int type) => type is
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWaitForFences_EXT or
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkGetFenceStatus_EXT or
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWaitSemaphores_EXT or
        (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkGetQueryPoolResults_EXT;

    /// <summary>Whether the recording polls the same way again after command <paramref name="i"/> (its own reply-stream set-up aside).</summary>
    private static bool SamePollFollows(List<(string Stream, byte[] Bytes)> commands, int i)
    {
        for (int j = i + 1; j < commands.Count; j++)
        {
            if (BinaryPrimitives.ReadInt32LittleEndian(commands[j].Bytes) == (int)vkSetReplyCommandStreamMESA.Type)
                continue;
            return commands[j].Bytes.AsSpan().SequenceEqual(commands[i].Bytes);
        }
        return false;
    }

    private static bool PollUntilDone(VtestVenusSession session, byte[] setReply, byte[] poll, string name, ulong replyOffset)
    {
        byte[] both = [.. setReply, .. poll];
        long deadline = Stopwatch.GetTimestamp() + (long)(PollLimit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            ReadOnlySpan<byte> reply = session.SubmitRaw(both, name);
            int result = BinaryPrimitives.ReadInt32LittleEndian(reply[((int)replyOffset + 4)..]);
            if (result <= 0)
                return result == 0;
            Thread.Sleep(1);
        }
        return false;
    }

    /// <summary>The device and fence of a vkCreateFence, or null if it does not decode.</summary>
    private static (ulong Device, ulong Fence)? CreatedFence(byte[] bytes)
    {
        using var arena = new VnArena();
        var d = new VnDecoder(bytes, arena);
        d.U32();
        d.U32();
        vkCreateFence.Args args;
        vkCreateFence.Decode(ref d, &args);
        return d.Failed || args.pFence == null ? null : (args.device, *args.pFence);
    }

    /// <summary>The fence of a vkQueueSubmit or vkQueueSubmit2 (0 for none); null for any other command.</summary>
    private static ulong? SubmittedFence(int type, byte[] bytes)
    {
        if (type != (int)vkQueueSubmit.Type && type != (int)vkQueueSubmit2.Type)
            return null;
        using var arena = new VnArena();
        var d = new VnDecoder(bytes, arena);
        d.U32();
        d.U32();
        ulong fence;
        if (type == (int)vkQueueSubmit.Type)
        {
            vkQueueSubmit.Args a;
            vkQueueSubmit.Decode(ref d, &a);
            fence = a.fence;
        }
        else
        {
            vkQueueSubmit2.Args a;
            vkQueueSubmit2.Decode(ref d, &a);
            fence = a.fence;
        }
        return d.Failed || fence == 0 ? null : fence;
    }

    /// <summary>Whether a later poll (vkWaitForFences, vkGetFenceStatus) of the recording names <paramref name="fence"/>.</summary>
    private static bool FenceIdFollows(List<(string Stream, byte[] Bytes)> commands, int i, ulong fence)
    {
        Span<byte> id = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(id, fence);
        for (int j = i + 1; j < commands.Count; j++)
        {
            int type = BinaryPrimitives.ReadInt32LittleEndian(commands[j].Bytes);
            if (type is (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkWaitForFences_EXT or (int)VkCommandTypeEXT.VK_COMMAND_TYPE_vkGetFenceStatus_EXT &&
                commands[j].Bytes.AsSpan().IndexOf(id) >= 0)
                return true;
        }
        return false;
    }

    private static byte[] FenceStatusCommand(ulong device, ulong fence)
    {
        var bytes = new byte[vkGetFenceStatus.Size(device, fence)];
        var e = new VnEncoder(bytes);
        vkGetFenceStatus.Encode(ref e, VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT, device, fence);
        return bytes;
    }

    /// <summary>The offset and size of a vkSetReplyCommandStreamMESA; null for any other command.</summary>
    private static (ulong Offset, ulong Size)? SetReplyStream(byte[] bytes)
    {
        if (BinaryPrimitives.ReadInt32LittleEndian(bytes) != (int)vkSetReplyCommandStreamMESA.Type)
            return null;
        using var arena = new VnArena();
        var d = new VnDecoder(bytes, arena);
        d.U32();
        d.U32();
        vkSetReplyCommandStreamMESA.Args args;
        vkSetReplyCommandStreamMESA.Decode(ref d, &args);
        if (d.Failed || args.pStream == null)
            throw new InvalidDataException("a vkSetReplyCommandStreamMESA does not decode");
        return (args.pStream->offset, args.pStream->size);
    }
}
