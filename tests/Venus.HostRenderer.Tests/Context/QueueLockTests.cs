using Venus.Fuzz;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;

namespace Venus.HostRenderer.Tests.Context;

/// <summary>
/// Vulkan makes host access to a VkQueue externally synchronized. One context reaches its queue
/// from several threads: a ring thread runs the guest's vkQueueSubmit while the render-server (or
/// vtest) thread submits the fence of a SUBMIT_FENCE to the same queue. Two unserialized submits
/// to one lavapipe queue lost work (Mesa's guest in a VM on our render server hung in a fence wait).
/// The fake driver counts submits that overlap on one queue: there must be none, and every
/// timeline fence must retire, in order.
/// </summary>
public sealed unsafe class QueueLockTests
{
    private const int Rounds = 400;

    [Fact]
    public void GuestSubmitsAndTimelineFencesNeverOverlapOnAQueueAndEveryFenceRetiresInOrder()
    {
        using var h = new FakeDriverHost();
        var (_, _, device) = h.CreateDevice();
        var timeline = new VkDeviceQueueTimelineInfoMESA { sType = VkDeviceQueueTimelineInfoMESA.SType, ringIdx = 1 };
        var qi = new VkDeviceQueueInfo2 { sType = VkDeviceQueueInfo2.SType, pNext = &timeline, queueFamilyIndex = 0, queueIndex = 0 };
        ulong queue = h.NewId();
        VnEncoder e = h.BeginCommand(vkGetDeviceQueue2.Size(device, &qi, &queue));
        vkGetDeviceQueue2.Encode(ref e, 0, device, &qi, &queue);
        h.Run(e.Written);
        Assert.Null(h.Ctx.FatalReason);
        Assert.True(h.Ctx.Objects.TryGet(queue, out var q));

        byte[] submit;
        {
            var b = new byte[256];
            var se = new VnEncoder(b);
            vkQueueSubmit.Encode(ref se, 0, queue, 0, null, 0);
            submit = se.Written.ToArray();
        }

        var retired = new List<int>();
        var fences = new Thread(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                int n = i;
                h.Ctx.Submit(ReadOnlySpan<byte>.Empty, 1, () => { lock (retired) retired.Add(n); });
            }
        });
        var guest = new Venus.HostRenderer.Context.Dispatcher(h.Ctx, "test ring");
        var submits = new Thread(() =>
        {
            for (int i = 0; i < Rounds; i++) guest.Execute(submit);
        });
        fences.Start();
        submits.Start();
        fences.Join();
        submits.Join();
        Assert.Null(h.Ctx.FatalReason);
        Assert.Equal(0, FakeVulkan.QueueOverlaps(q.Handle));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline) { lock (retired) if (retired.Count == Rounds) break; Thread.Sleep(10); }
        lock (retired) Assert.Equal(Enumerable.Range(0, Rounds), retired);
    }

    /// <summary>
    /// A guest's vkDeviceWaitIdle on a device whose work never finishes (it waits on a value nobody
    /// signals) must not hold the queue lock while it waits: another thread's submit still gets
    /// through, and when the context ends the waiting thread comes back.
    /// </summary>
    [Fact]
    public void DeviceWaitIdleOnWorkThatNeverFinishesLetsOtherSubmitsThroughAndEndsWithTheContext()
    {
        using var h = new FakeDriverHost();
        var (_, _, device) = h.CreateDevice();
        ulong queue = h.NewId();
        VnEncoder e = h.BeginCommand(vkGetDeviceQueue.Size(device, 0, 0, &queue));
        vkGetDeviceQueue.Encode(ref e, 0, device, 0, 0, &queue);
        h.Run(e.Written);
        Assert.True(h.Ctx.Objects.TryGet(queue, out var q));
        Assert.True(h.Ctx.Objects.TryGet(device, out var dev));

        var b = new byte[256];
        var se = new VnEncoder(b);
        vkQueueSubmit.Encode(ref se, 0, queue, 0, null, 0);
        byte[] submit = se.Written.ToArray();
        se = new VnEncoder(new byte[64]);
        vkDeviceWaitIdle.Encode(ref se, 0, device);
        byte[] idle = se.Written.ToArray();

        var ringA = new Venus.HostRenderer.Context.Dispatcher(h.Ctx, "ring a");
        var ringB = new Venus.HostRenderer.Context.Dispatcher(h.Ctx, "ring b");
        ringA.Execute(submit);
        Assert.Null(h.Ctx.FatalReason);
        FakeVulkan.SetStuck(dev.Handle, true);
        try
        {
            var waiter = new Thread(() => ringA.Execute(idle));
            waiter.Start();
            Thread.Sleep(200);
            Assert.True(waiter.IsAlive, "vkDeviceWaitIdle returned although the device's work never finishes");
            var other = new Thread(() => ringB.Execute(submit));
            other.Start();
            Assert.True(other.Join(TimeSpan.FromSeconds(5)), "a submit from another thread was held up by the waiting vkDeviceWaitIdle");
            h.Ctx.Fatal("test: the context ends");
            Assert.True(waiter.Join(TimeSpan.FromSeconds(5)), "vkDeviceWaitIdle did not come back after its context ended");
        }
        finally
        {
            FakeVulkan.SetStuck(dev.Handle, false);
        }
    }
}
