using System.Diagnostics;
using Venus.Client;
using Venus.Protocol.Commands;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Xunit.Abstractions;
using static Venus.Client.VtestVenusSession;

namespace Venus.Interop.Tests;

/// <summary>
/// venus-host's sync_fd semaphore payloads (wsi.md "Who does what"): lavapipe has no external
/// semaphores, so the host offers binary SYNC_FD imports itself. The judge is lavapipe's queue: a
/// submit that waits on a semaphore completes only if something signalled it, so
/// <c>vkImportSemaphoreResourceMESA</c> (resource 0, "already signalled") must make the next wait
/// go through, and <c>vkWaitSemaphoreResourceMESA</c> must consume a signal so that the semaphore
/// can be signalled again. Bad arguments end that context only; the host serves the next client.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed unsafe class SyncFdSemaphoreTests(InteropFixture fx, ITestOutputHelper output)
{
    const uint SyncFd = 0x10, Importable = 0x2, AllCommands = 0x10000;
    const ulong FenceTimeoutNs = 5_000_000_000;

    [Fact]
    public void ImportedPayloadsSignalAndWaitsConsumeThem()
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost);
        using (VtestVenusSession s = Open(host.SocketPath, nameof(ImportedPayloadsSignalAndWaitsConsumeThem)))
        {
            var g = Guest.Create(s);
            Assert.Equal(Importable, g.SemaphoreFeatures(SyncFd, timeline: false));
            Assert.Equal(0u, g.SemaphoreFeatures(SyncFd, timeline: true));
            ulong sem = g.CreateSemaphore(timeline: false);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 20; i++)
            {
                // "Already signalled" import, then a submit that waits on it: the fence signals.
                g.Import(sem, resourceId: 0);
                Assert.Equal(VkResult.VK_SUCCESS, g.SubmitAndWait(wait: sem, signal: 0));
                // A signal from the queue, consumed by the host, then signalled again: valid only if consumed.
                Assert.Equal(VkResult.VK_SUCCESS, g.SubmitAndWait(wait: 0, signal: sem));
                g.WaitResource(sem);
                Assert.Equal(VkResult.VK_SUCCESS, g.SubmitAndWait(wait: 0, signal: sem));
                g.WaitResource(sem);
            }
            output.WriteLine($"20 rounds of import+wait and signal+consume in {clock.ElapsedMilliseconds} ms");
            g.DestroyDevice();
        }
        string log = host.ReadLog();
        Assert.DoesNotContain("fatal: ", log);
    }

    static readonly (string Name, string Expect)[] BadCases =
    [
        ("resource-7", "only resource 0"),
        ("timeline", "timeline semaphore"),
        ("other-device", "does not belong to device"),
        ("no-extension", "created without VK_KHR_external_semaphore_fd"),
        ("import-fd-0", "file descriptors do not cross the wire"),
    ];

    [Fact]
    public void BadArgumentsEndOnlyThatContext()
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost);
        var failures = new List<string>();
        foreach (var (name, expect) in BadCases)
        {
            string client = $"syncfd-{name}";
            using (VtestVenusSession s = Open(host.SocketPath, client))
            {
                s.Timeout = TimeSpan.FromSeconds(5);
                var g = Guest.Create(s, semaphoreFd: name != "no-extension");
                Action bad = name switch
                {
                    "resource-7" => () => g.Import(g.CreateSemaphore(false), resourceId: 7),
                    "timeline" => () => g.Import(g.CreateSemaphore(true), resourceId: 0),
                    "other-device" => () => g.Import(g.AnotherDevice().CreateSemaphore(false), 0),
                    "no-extension" => () => g.Import(g.CreateSemaphore(false), resourceId: 0),
                    "import-fd-0" => () => g.ImportFd(g.CreateSemaphore(false), fd: 0),
                    _ => throw new ArgumentException(name),
                };
                // The host ends the context: the submission never completes, or the connection goes.
                Exception? e = Record.Exception(() => { bad(); g.SemaphoreFeatures(SyncFd, false); });
                output.WriteLine($"{name}: the client saw {e?.GetType().Name}: {e?.Message}");
                if (e is null) failures.Add($"{name}: the host answered after the bad command");
            }
            string line = WaitForLine(host, $"-{client}: fatal: ");
            output.WriteLine($"{name}: {line}");
            if (!line.Contains(expect, StringComparison.Ordinal)) failures.Add($"{name}: expected a fatal line with '{expect}', got: {line}");
            Assert.True(host.IsAlive, $"venus-host died after '{name}':\n{host.LogTail()}");
        }

        // The host goes on serving other clients, and sync_fd imports still work there.
        using (VtestVenusSession next = Open(host.SocketPath, "syncfd-after"))
        {
            var g = Guest.Create(next);
            ulong sem = g.CreateSemaphore(false);
            g.Import(sem, 0);
            Assert.Equal(VkResult.VK_SUCCESS, g.SubmitAndWait(wait: sem, signal: 0));
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    static string WaitForLine(RunningHost host, string marker)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? line = host.ReadLog().Split('\n').FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
            if (line != null) return line;
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) return $"(no line with '{marker}' in the host log)\n{host.LogTail()}";
            Thread.Sleep(20);
        }
    }

    /// <summary>One instance, the first physical device, a device with queue family 0's first queue and a fence.</summary>
    sealed class Guest
    {
        readonly VtestVenusSession _s;
        public ulong PhysicalDevice, Device, Queue, Fence;

        Guest(VtestVenusSession s) => _s = s;

        public static Guest Create(VtestVenusSession s, bool semaphoreFd = true)
        {
            ulong instance = VenusProbe.CreateInstance(s, VenusProbe.MaxApiVersion);
            return Create(s, VenusProbe.EnumeratePhysicalDevices(s, instance)[0], semaphoreFd);
        }

        /// <summary>A second device of the same physical device.</summary>
        public Guest AnotherDevice() => Create(_s, PhysicalDevice, true);

        static Guest Create(VtestVenusSession s, ulong physicalDevice, bool semaphoreFd)
        {
            var g = new Guest(s) { PhysicalDevice = physicalDevice };
            float priority = 1;
            var queueInfo = new VkDeviceQueueCreateInfo { sType = VkDeviceQueueCreateInfo.SType, queueCount = 1, pQueuePriorities = &priority };
            fixed (byte* ext = "VK_KHR_external_semaphore_fd\0"u8)
            {
                byte* name = ext;
                var info = new VkDeviceCreateInfo
                {
                    sType = VkDeviceCreateInfo.SType, queueCreateInfoCount = 1, pQueueCreateInfos = &queueInfo,
                    enabledExtensionCount = semaphoreFd ? 1u : 0u, ppEnabledExtensionNames = &name,
                };
                ulong device = s.NewObjectId();
                var e = s.BeginCall(vkCreateDevice.Size(g.PhysicalDevice, &info, null, &device, s.Filter), vkCreateDevice.ReplySize(g.PhysicalDevice, &info, null, &device));
                vkCreateDevice.Encode(ref e, Reply, g.PhysicalDevice, &info, null, &device);
                var d = s.Submit(e);
                s.Check(d, vkCreateDevice.DecodeReply(ref d, g.PhysicalDevice, &info, null, &device));
                g.Device = device;
            }
            ulong queue = s.NewObjectId();
            var q = s.BeginCall(vkGetDeviceQueue.Size(g.Device, 0, 0, &queue, s.Filter), vkGetDeviceQueue.ReplySize(g.Device, 0, 0, &queue));
            vkGetDeviceQueue.Encode(ref q, Reply, g.Device, 0, 0, &queue);
            var qd = s.Submit(q);
            vkGetDeviceQueue.DecodeReply(ref qd, g.Device, 0, 0, &queue);
            s.Check(qd);
            g.Queue = queue;
            var fci = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            ulong fence = s.NewObjectId();
            var f = s.BeginCall(vkCreateFence.Size(g.Device, &fci, null, &fence, s.Filter), vkCreateFence.ReplySize(g.Device, &fci, null, &fence));
            vkCreateFence.Encode(ref f, Reply, g.Device, &fci, null, &fence);
            var fd = s.Submit(f);
            s.Check(fd, vkCreateFence.DecodeReply(ref fd, g.Device, &fci, null, &fence));
            g.Fence = fence;
            return g;
        }

        public uint SemaphoreFeatures(uint handleType, bool timeline)
        {
            var type = new VkSemaphoreTypeCreateInfo { sType = VkSemaphoreTypeCreateInfo.SType, semaphoreType = timeline ? VkSemaphoreType.VK_SEMAPHORE_TYPE_TIMELINE : VkSemaphoreType.VK_SEMAPHORE_TYPE_BINARY };
            var info = new VkPhysicalDeviceExternalSemaphoreInfo { sType = VkPhysicalDeviceExternalSemaphoreInfo.SType, pNext = &type, handleType = (VkExternalSemaphoreHandleTypeFlagBits)handleType };
            var props = new VkExternalSemaphoreProperties { sType = VkExternalSemaphoreProperties.SType };
            var e = _s.BeginCall(vkGetPhysicalDeviceExternalSemaphoreProperties.Size(PhysicalDevice, &info, &props, _s.Filter),
                vkGetPhysicalDeviceExternalSemaphoreProperties.ReplySize(PhysicalDevice, &info, &props));
            vkGetPhysicalDeviceExternalSemaphoreProperties.Encode(ref e, Reply, PhysicalDevice, &info, &props);
            var d = _s.Submit(e);
            vkGetPhysicalDeviceExternalSemaphoreProperties.DecodeReply(ref d, PhysicalDevice, &info, &props);
            _s.Check(d);
            return props.externalSemaphoreFeatures;
        }

        public ulong CreateSemaphore(bool timeline)
        {
            var type = new VkSemaphoreTypeCreateInfo { sType = VkSemaphoreTypeCreateInfo.SType, semaphoreType = VkSemaphoreType.VK_SEMAPHORE_TYPE_TIMELINE };
            var ci = new VkSemaphoreCreateInfo { sType = VkSemaphoreCreateInfo.SType, pNext = timeline ? &type : null };
            ulong sem = _s.NewObjectId();
            var e = _s.BeginCall(vkCreateSemaphore.Size(Device, &ci, null, &sem, _s.Filter), vkCreateSemaphore.ReplySize(Device, &ci, null, &sem));
            vkCreateSemaphore.Encode(ref e, Reply, Device, &ci, null, &sem);
            var d = _s.Submit(e);
            _s.Check(d, vkCreateSemaphore.DecodeReply(ref d, Device, &ci, null, &sem));
            return sem;
        }

        public void Import(ulong semaphore, uint resourceId)
        {
            var info = new VkImportSemaphoreResourceInfoMESA { sType = VkImportSemaphoreResourceInfoMESA.SType, semaphore = semaphore, resourceId = resourceId };
            var e = _s.BeginCommand(vkImportSemaphoreResourceMESA.Size(Device, &info, _s.Filter));
            vkImportSemaphoreResourceMESA.Encode(ref e, NoReply, Device, &info);
            _s.Submit(e);
        }

        public void ImportFd(ulong semaphore, int fd)
        {
            var info = new VkImportSemaphoreFdInfoKHR { sType = VkImportSemaphoreFdInfoKHR.SType, semaphore = semaphore, handleType = (VkExternalSemaphoreHandleTypeFlagBits)SyncFd, fd = fd };
            var e = _s.BeginCommand(vkImportSemaphoreFdKHR.Size(Device, &info, _s.Filter));
            vkImportSemaphoreFdKHR.Encode(ref e, NoReply, Device, &info);
            _s.Submit(e);
        }

        public void WaitResource(ulong semaphore)
        {
            var e = _s.BeginCommand(vkWaitSemaphoreResourceMESA.Size(Device, semaphore, _s.Filter));
            vkWaitSemaphoreResourceMESA.Encode(ref e, NoReply, Device, semaphore);
            _s.Submit(e);
        }

        /// <summary>One submit (no command buffers) that waits on and/or signals a semaphore, with the fence; then waits for the fence and resets it.</summary>
        public VkResult SubmitAndWait(ulong wait, ulong signal)
        {
            uint stage = AllCommands;
            var submit = new VkSubmitInfo
            {
                sType = VkSubmitInfo.SType,
                waitSemaphoreCount = wait != 0 ? 1u : 0u, pWaitSemaphores = &wait, pWaitDstStageMask = &stage,
                signalSemaphoreCount = signal != 0 ? 1u : 0u, pSignalSemaphores = &signal,
            };
            if (wait == 0) { submit.pWaitSemaphores = null; submit.pWaitDstStageMask = null; }
            if (signal == 0) submit.pSignalSemaphores = null;
            var e = _s.BeginCommand(vkQueueSubmit.Size(Queue, 1, &submit, Fence, _s.Filter));
            vkQueueSubmit.Encode(ref e, NoReply, Queue, 1, &submit, Fence);
            _s.Submit(e);
            ulong fence = Fence;
            var w = _s.BeginCall(vkWaitForFences.Size(Device, 1, &fence, 1, FenceTimeoutNs, _s.Filter), vkWaitForFences.ReplySize(Device, 1, &fence, 1, FenceTimeoutNs));
            vkWaitForFences.Encode(ref w, Reply, Device, 1, &fence, 1, FenceTimeoutNs);
            var d = _s.Submit(w);
            VkResult r = vkWaitForFences.DecodeReply(ref d, Device, 1, &fence, 1, FenceTimeoutNs);
            _s.Check(d);
            var reset = _s.BeginCommand(vkResetFences.Size(Device, 1, &fence, _s.Filter));
            vkResetFences.Encode(ref reset, NoReply, Device, 1, &fence);
            _s.Submit(reset);
            return r;
        }

        public void DestroyDevice()
        {
            var e = _s.BeginCall(vkDestroyDevice.Size(Device, null, _s.Filter), vkDestroyDevice.ReplySize(Device, null));
            vkDestroyDevice.Encode(ref e, Reply, Device, null);
            var d = _s.Submit(e);
            vkDestroyDevice.DecodeReply(ref d, Device, null);
            _s.Check(d);
        }
    }
}
