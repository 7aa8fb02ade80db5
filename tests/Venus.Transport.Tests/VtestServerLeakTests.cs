using System.Runtime.InteropServices;
using Venus.Transport.Vtest;
using Xunit.Abstractions;

namespace Venus.Transport.Tests;

/// <summary>Counts this process's fds and threads, so it runs alone.</summary>
[CollectionDefinition(nameof(ResourceCountingCollection), DisableParallelization = true)]
public sealed class ResourceCountingCollection;

[Collection(nameof(ResourceCountingCollection))]
public sealed class VtestServerLeakTests(ITestOutputHelper output)
{
    private const int Cycles = 200;
    private const int FdTolerance = 4;
    private const int ThreadTolerance = 4;

    /// <summary>One connect/misbehave/close cycle; the variants leave different things behind server-side.</summary>
    private static void Cycle(TestServer server, int i)
    {
        switch (i % 6)
        {
            case 0:
            {
                // Garbage as the first message.
                using var raw = RawClient.Connect(server.SocketPath);
                byte[] garbage = new byte[96];
                new Random(i).NextBytes(garbage);
                garbage[4] = 0x77;
                raw.SendBytes(garbage);
                break;
            }
            case 1:
            {
                // A watched SYNC_WAIT (the server holds an eventfd) and an fd never received.
                using var raw = RawClient.Connect(server.SocketPath);
                raw.Handshake($"leak-wait-{i}");
                raw.Message(VtestCommand.SyncCreate, 0, 0);
                uint sync = raw.ReadReply(VtestCommand.SyncCreate)[0];
                raw.Message(VtestCommand.SyncWait, 0, uint.MaxValue, sync, 1, 0);
                raw.Message(VtestCommand.SubmitCmd2, 1, 1, 7, 0, 7, 1, 5, sync, 9, 0);
                break;
            }
            case 2:
            {
                // A blob (renderer memfd) whose fd the client never takes, then garbage.
                using var raw = RawClient.Connect(server.SocketPath);
                raw.Handshake($"leak-blob-{i}");
                raw.Message(VtestCommand.ResourceCreateBlob, 2, 1, 65536, 0, 0, 0);
                raw.Send(0x1234, 0x5678, 0x9abc);
                break;
            }
            case 3:
            {
                // The real client: blob mapped, submissions, waits, then a bad sync id.
                using var client = VtestClient.Connect(server.SocketPath, $"leak-client-{i}");
                client.ContextInit();
                using VtestBlob blob = client.CreateBlob(VtestBlobType.Host3D, VtestBlobFlags.Mappable, 8192, 0);
                uint sync = client.SyncCreate(0);
                // The renderer never retires this one (RetireMode.Deferred): it stays queued.
                client.SubmitCommands(MemoryMarshal.AsBytes<uint>([1, 2, 3]), 0, [(sync, 5)]);
                client.SyncWrite(sync, 1);
                Assert.True(client.SyncWait(sync, 1, TimeSpan.FromSeconds(10)));
                Assert.False(client.SyncWait(sync, 2, TimeSpan.FromMilliseconds(1)));
                Assert.Throws<VtestException>(() => client.SyncRead(9999));
                break;
            }
            case 4:
            {
                // Connect and close without a byte.
                using var raw = RawClient.Connect(server.SocketPath);
                break;
            }
            default:
            {
                // A truncated SUBMIT_CMD2 and a half-close.
                using var raw = RawClient.Connect(server.SocketPath);
                raw.Handshake($"leak-trunc-{i}");
                raw.Send(1000, (uint)VtestCommand.SubmitCmd2, 1, 1, 7);
                raw.ShutdownSend();
                raw.WaitClosedByServer(TimeSpan.FromSeconds(10));
                break;
            }
        }
    }

    [Fact]
    public void ConnectGarbageCloseCyclesLeaveNoFdsOrThreads()
    {
        using var server = new TestServer(new FakeRendererFactory(RetireMode.Deferred));

        // Warm up (JIT, pools, the accept thread) before taking the baseline.
        for (int i = 0; i < 12; i++)
            Cycle(server, i);
        server.WaitForNoClients();
        Settle();
        int fdsBefore = ProcessResources.OpenFdCount();
        int threadsBefore = ProcessResources.ThreadCount();
        string[] fdListBefore = ProcessResources.OpenFds();

        for (int i = 0; i < Cycles; i++)
            Cycle(server, i);
        server.WaitForNoClients();

        bool fdsBack = Wait.Until(() => ProcessResources.OpenFdCount() <= fdsBefore + FdTolerance, TimeSpan.FromSeconds(10));
        bool threadsBack = Wait.Until(() => ProcessResources.ThreadCount() <= threadsBefore + ThreadTolerance, TimeSpan.FromSeconds(10));
        int fdsAfter = ProcessResources.OpenFdCount();
        int threadsAfter = ProcessResources.ThreadCount();
        output.WriteLine($"fds {fdsBefore} -> {fdsAfter}, threads {threadsBefore} -> {threadsAfter}, clients accepted {server.Server.AcceptedCount}");
        string[] added = [.. ProcessResources.OpenFds().Except(fdListBefore)];
        Assert.True(fdsBack, $"fds {fdsBefore} -> {fdsAfter}; new: {string.Join(", ", added)}");
        Assert.True(threadsBack, $"threads {threadsBefore} -> {threadsAfter}");

        // Every renderer was disposed once and freed its blobs; every hostile client was logged.
        FakeRenderer[] renderers = server.Factory.Created;
        Assert.All(renderers, r => Assert.Equal(1, r.DisposeCount));
        Assert.All(renderers, r => Assert.Equal(0, r.LiveBlobCount));
        Assert.Equal(Cycles + 12, server.Log.Count(l => l.Contains("' dropped: ") || l.Contains("' disconnected")));

        // And the server still serves.
        using var client = VtestClient.Connect(server.SocketPath, "after-cycles");
        client.ContextInit();
        Assert.Equal(1u, client.SyncCreate(0));
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Thread.Sleep(100);
    }
}
