using System.Runtime.InteropServices;
using Venus.Transport.Vtest;
using Xunit.Abstractions;

namespace Venus.Transport.Tests;

/// <summary>
/// Malformed and hostile input: each case must end only the offending connection, with one log
/// line naming the client and the reason, dispose its renderer, and leave the server serving.
/// </summary>
public sealed class VtestServerHostileTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private enum Setup
    {
        /// <summary>Nothing sent before the case's bytes.</summary>
        None,
        /// <summary>CREATE_RENDERER only.</summary>
        Named,
        /// <summary>Mesa's start-up without CONTEXT_INIT.</summary>
        NoContext,
        /// <summary>Mesa's start-up and CONTEXT_INIT(4).</summary>
        Context,
    }

    private sealed record Case(Setup Setup, Action<RawClient> Send, params string[] Expect);

    private static byte[] Garbage(int count, int seed)
    {
        byte[] bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static void Submit(RawClient c, params uint[] payload) => c.Message(VtestCommand.SubmitCmd2, payload);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["garbage-first"] = new(Setup.None, c =>
        {
            byte[] bytes = Garbage(64, 1);
            bytes[4] = 0x55; // id ≠ CREATE_RENDERER
            c.SendBytes(bytes);
        }, "the first message must be CREATE_RENDERER"),
        ["garbage-after-handshake"] = new(Setup.Context, c => c.SendBytes(Garbage(256, 2))),
        ["garbage-after-name"] = new(Setup.Named, c => c.SendBytes(Garbage(4096, 3))),
        ["huge-name"] = new(Setup.None, c => c.Send(0xFFFFFFF0, (uint)VtestCommand.CreateRenderer, 0, 0), "CREATE_RENDERER name of", "exceeds the limit"),
        ["huge-submit"] = new(Setup.Context, c => c.Send(0x40000000, (uint)VtestCommand.SubmitCmd2, 1, 1, 7), "SUBMIT_CMD2 of 4294967296 bytes exceeds the limit"),
        ["huge-sync-wait"] = new(Setup.Context, c => c.Send(2 + 3 * 100_000, (uint)VtestCommand.SyncWait, 0, 0), "exceeds the limit of 65536"),
        ["truncated-payload"] = new(Setup.Context, c =>
        {
            c.Send(2, (uint)VtestCommand.SyncCreate, 5);
            c.ShutdownSend();
        }, "truncated message", "4 of 8 bytes of the SYNC_CREATE payload"),
        ["truncated-header"] = new(Setup.Context, c =>
        {
            c.SendBytes([1, 0, 0, 0, 21]);
            c.ShutdownSend();
        }, "truncated message", "5 of 8 bytes of a message header"),
        ["truncated-submit"] = new(Setup.Context, c =>
        {
            c.Send(100, (uint)VtestCommand.SubmitCmd2, 1, 1, 7, 0, 7, 0, 0);
            c.ShutdownSend();
        }, "truncated message", "28 of 400 bytes of the SUBMIT_CMD2 payload"),
        ["unknown-command"] = new(Setup.Context, c => c.Send(0, 999), "unknown or unsupported command id 999"),
        ["gl-only-command"] = new(Setup.Context, c => c.Send(0, 1), "unknown or unsupported command id 1"),
        ["second-create-renderer"] = new(Setup.Context, c => c.CreateRenderer("again"), "a second CREATE_RENDERER"),
        ["wrong-fixed-length"] = new(Setup.Context, c => c.Send(1, (uint)VtestCommand.PingProtocolVersion, 0), "PING_PROTOCOL_VERSION with payload length 1; it takes 0 dwords"),
        ["submit-cmd-past-payload"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 100, 7, 0, 0), "command stream lies past the payload"),
        ["submit-offset-wraps"] = new(Setup.Context, c => Submit(c, 1, 1, 0xFFFFFFFF, 2, 7, 0, 0), "command stream lies past the payload"),
        ["submit-syncs-past-payload"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 0, 7, 5, 0), "syncs lie past the payload"),
        ["submit-sync-count-wraps"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 0, 7, 0x55555556, 0), "syncs lie past the payload"),
        ["submit-two-batches"] = new(Setup.Context, c => Submit(c, 2, 1, 15, 0, 15, 0, 0, 0, 0, 1, 15, 0, 15, 0, 0), "batch_count 2"),
        ["submit-zero-batches"] = new(Setup.Context, c => Submit(c, 0, 0, 0, 0, 0, 0, 0), "batch_count 0"),
        ["submit-too-short"] = new(Setup.Context, c => Submit(c, 1, 1, 0), "shorter than batch_count plus one batch header"),
        ["submit-ring-64"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 0, 7, 0, 64), "ring_idx must be below 64"),
        ["submit-unknown-flag"] = new(Setup.Context, c => Submit(c, 1, 3, 7, 0, 7, 0, 0), "unknown flags"),
        ["submit-bad-sync"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 0, 7, 1, 0, 777, 1, 0), "unknown sync id 777"),
        ["sync-read-bad-id"] = new(Setup.Context, c => c.Message(VtestCommand.SyncRead, 12345), "SYNC_READ of unknown sync id 12345"),
        ["sync-write-bad-id"] = new(Setup.Context, c => c.Message(VtestCommand.SyncWrite, 12345, 1, 0), "SYNC_WRITE of unknown sync id 12345"),
        ["sync-wait-bad-id"] = new(Setup.Context, c => c.Message(VtestCommand.SyncWait, 0, 1000, 4242, 1, 0), "SYNC_WAIT names unknown sync id 4242"),
        ["sync-wait-bad-length"] = new(Setup.Context, c => c.Message(VtestCommand.SyncWait, 0, 1000, 1, 1), "SYNC_WAIT of 4 dwords is not 2 + 3"),
        ["sync-wait-too-short"] = new(Setup.Context, c => c.Message(VtestCommand.SyncWait, 0), "SYNC_WAIT of 1 dwords"),
        ["before-context-init"] = new(Setup.NoContext, c => c.Message(VtestCommand.SyncCreate, 0, 0), "SYNC_CREATE before CONTEXT_INIT"),
        ["submit-before-context-init"] = new(Setup.NoContext, c => Submit(c, 1, 1, 7, 0, 7, 0, 0), "SUBMIT_CMD2 before CONTEXT_INIT"),
        ["busy-wait-before-context-init"] = new(Setup.NoContext, c => c.Message(VtestCommand.ResourceBusyWait, 5, 0), "RESOURCE_BUSY_WAIT of handle 5 before CONTEXT_INIT"),
        ["context-init-gl"] = new(Setup.NoContext, c => c.Message(VtestCommand.ContextInit, 2), "venus contexts only"),
        ["context-init-0"] = new(Setup.NoContext, c => c.Message(VtestCommand.ContextInit, 0), "CONTEXT_INIT with capset id 0"),
        ["context-init-changes-capset"] = new(Setup.Context, c => c.Message(VtestCommand.ContextInit, 5), "already initialized with capset 4"),
        ["blob-bad-type"] = new(Setup.Context, c => c.Message(VtestCommand.ResourceCreateBlob, 9, 1, 4096, 0, 0, 0), "unknown blob type"),
        ["blob-size-0"] = new(Setup.Context, c => c.Message(VtestCommand.ResourceCreateBlob, 2, 1, 0, 0, 0, 0), "size 0"),
        ["blob-renderer-refuses"] = new(Setup.Context, c => c.Message(VtestCommand.ResourceCreateBlob, 2, 3, 4096, 0, 5, 0),
            "renderer refused RESOURCE_CREATE_BLOB", "blob id 5 with flags"),
        ["renderer-throws-in-submit"] = new(Setup.Context, c => Submit(c, 1, 1, 7, 1, 8, 0, 0, FakeRenderer.PoisonDword),
            "renderer failed SUBMIT_CMD2", "InvalidOperationException: poisoned stream"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void DropsOnlyTheOffendingClient(string name)
    {
        Case c = Cases[name];
        using var server = new TestServer();

        // A well-behaved client connected before and kept across the hostile one.
        using var bystander = VtestClient.Connect(server.SocketPath, "bystander");
        bystander.ContextInit();
        uint bystanderSync = bystander.SyncCreate(41);

        string clientName = c.Setup == Setup.None ? "?" : "hostile-" + name;
        using (var raw = RawClient.Connect(server.SocketPath))
        {
            switch (c.Setup)
            {
                case Setup.Named:
                    raw.CreateRenderer(clientName);
                    break;
                case Setup.NoContext:
                    raw.Handshake(clientName, contextInit: false);
                    break;
                case Setup.Context:
                    raw.Handshake(clientName);
                    break;
            }
            try
            {
                c.Send(raw);
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.Shutdown or System.Net.Sockets.SocketError.ConnectionReset)
            {
                // The server may drop the client on the header, before the rest of the message is written.
            }
            Assert.True(raw.WaitClosedByServer(Long), "the server did not close the hostile connection");
        }

        string line = server.WaitForLog([$"'{clientName}' dropped: ", .. c.Expect]);
        output.WriteLine(line);
        Assert.Matches(@"^vtest client \d+ '", line);
        Assert.Single(server.Log, l => l.Contains($"'{clientName}' dropped"));

        if (c.Setup != Setup.None)
        {
            FakeRenderer renderer = server.Factory.ByName(clientName);
            Assert.True(Wait.Until(() => renderer.DisposeCount == 1, Long));
            Assert.Equal(0, renderer.LiveBlobCount);
        }

        // The bystander and a new client are unaffected.
        Assert.Equal(41ul, bystander.SyncRead(bystanderSync));
        using var next = VtestClient.Connect(server.SocketPath, "next");
        next.GetCapset();
        next.ContextInit();
        using VtestBlob blob = next.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 4096, 0);
        uint sync = next.SyncCreate(0);
        next.SubmitCommands(MemoryMarshal.AsBytes<uint>([1, 2]), 0, [(sync, 1)]);
        Assert.True(next.SyncWait(sync, 1, Long));
        Assert.Equal(0, server.Factory.ByName("bystander").DisposeCount);
    }

    [Fact]
    public void FactoryRefusalDropsTheClient()
    {
        using var server = new TestServer();
        var error = Assert.Throws<VtestException>(() => VtestClient.Connect(server.SocketPath, "refuse-me"));
        output.WriteLine(error.Message);
        string line = server.WaitForLog("'refuse-me' dropped: renderer refused creating the renderer: this name is refused");
        output.WriteLine(line);
        using var next = VtestClient.Connect(server.SocketPath, "next");
        next.ContextInit();
    }

    [Fact]
    public void ClientsThatVanishMidWaitLeaveNothingPending()
    {
        var factory = new FakeRendererFactory(RetireMode.Deferred);
        using var server = new TestServer(factory);
        using (var client = VtestClient.Connect(server.SocketPath, "vanish"))
        {
            client.ContextInit();
            uint sync = client.SyncCreate(0);
            client.SubmitCommands(MemoryMarshal.AsBytes<uint>([1]), 7, [(sync, 1)]);
            var waiter = new Thread(() =>
            {
                try
                {
                    client.SyncWait(sync, 1, TimeSpan.FromSeconds(2));
                }
                catch (Exception)
                {
                    // the connection goes away under it
                }
            }) { IsBackground = true };
            waiter.Start();
            Thread.Sleep(50);
        }
        server.WaitForLog("'vanish' disconnected");
        FakeRenderer renderer = factory.ByName("vanish");
        // The end is logged before the teardown (a worker may be killed during a slow one).
        Assert.True(Wait.Until(() => renderer.DisposeCount == 1, Long), $"renderer disposed {renderer.DisposeCount} times");
        // A retire after the client is gone is a no-op.
        renderer.RetireAll();
    }
}
