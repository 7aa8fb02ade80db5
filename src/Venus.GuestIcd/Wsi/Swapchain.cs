using System.Collections.Concurrent;
using System.Diagnostics;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Wsi;

/// <summary>
/// A VkSwapchainKHR, done in the guest with ordinary Vulkan objects on the host (the protocol has no
/// WSI commands). Each image is a host image (the app's usage plus TRANSFER_SRC) in device memory.
/// For an X11 window each image also has a TRANSFER_DST buffer in host-visible memory this driver
/// maps (a blob; over vtest its fd is a memfd), a fence and a recorded copy image → buffer. Present
/// = one submit that waits on the app's semaphores and runs the copy, a wait on the fence, then the
/// pixels go to the X server straight from the mapping: MIT-SHM (the blob's fd attached once,
/// <c>xcb_shm_put_image</c>, no copy in the guest) or <c>xcb_put_image</c> in strips; then the
/// window's geometry says whether the swapchain is out of date or the window is gone. A headless
/// present only consumes the semaphores. Presented images are idle, so acquire signals the app's
/// semaphore and fence at once with an empty submit.
/// Present modes: FIFO waits for the next tick of a 60 Hz clock (VENUS_WSI_FIFO_HZ) before the
/// image goes out; FIFO_RELAXED the same unless the frame is already late; MAILBOX and IMMEDIATE
/// go out at once (a present replaces the whole window in one request, so nothing tears).
/// </summary>
internal sealed unsafe class Swapchain
{
    private static readonly ConcurrentDictionary<ulong, Swapchain> All = new();
    private struct SwapImage
    {
        public ulong Image, Memory, Buffer, BufferMemory, CommandBuffer, Fence;
        public byte* Pixels;
        public int BlobFd;
        public uint ShmSegment;
        public bool Acquired;
    }

    private readonly Device _device;
    private readonly DeviceFunctions _fn;
    private readonly Surface _surface;
    private readonly SwapImage[] _images;
    private readonly object _lock = new(); // Monitor: present waits pulse it
    private ulong _commandPool;
    private uint _poolFamily = uint.MaxValue;
    private uint _gc;
    private bool _shmTried, _shm;
    private uint _nextImage;
    private long _nextFrameTicks;
    private ulong _presentedId;
    private VkResult _status = VkResult.VK_SUCCESS; // OUT_OF_DATE / SURFACE_LOST once seen
    private bool _retired;

    private Swapchain(Device device, DeviceFunctions fn, Surface surface, VkSwapchainCreateInfoKHR* info, uint imageCount)
    {
        _device = device;
        _fn = fn;
        _surface = surface;
        Extent = info->imageExtent;
        Format = info->imageFormat;
        PresentMode = info->presentMode;
        _images = new SwapImage[imageCount];
        for (int i = 0; i < _images.Length; i++)
            _images[i].BlobFd = -1;
        Id = device.Instance.NewObjectId();
    }

    public ulong Id { get; }
    public VkExtent2D Extent { get; }
    public VkFormat Format { get; }
    public VkPresentModeKHR PresentMode { get; private set; }
    private ref VkDeviceFunctions Fn => ref _fn.Table;
    private Surface Surface => _surface;

    public static Swapchain Find(ulong handle) =>
        All.TryGetValue(handle, out Swapchain? s)
            ? s
            : throw new VulkanResultException(VkResult.VK_ERROR_UNKNOWN, $"0x{handle:x} is not a swapchain of this driver");

    // ---- creation and destruction -----------------------------------------------------------------

    public static VkResult Create(Device device, VkSwapchainCreateInfoKHR* info, ulong* pSwapchain)
    {
        *pSwapchain = 0;
        if (info->oldSwapchain != 0 && All.TryGetValue(info->oldSwapchain, out Swapchain? old))
            old._retired = true;
        Surface surface = Surface.From(info->surface);
        if (Array.IndexOf(surface.Formats, info->imageFormat) < 0)
            throw new VulkanResultException(VkResult.VK_ERROR_FORMAT_NOT_SUPPORTED, $"format {info->imageFormat} is not one of the surface's");
        if (!Surface.IsSupported(info->presentMode))
            throw new VulkanResultException(VkResult.VK_ERROR_INITIALIZATION_FAILED, $"present mode {info->presentMode} is not supported");
        if (info->imageExtent.width == 0 || info->imageExtent.height == 0 || info->imageExtent.width > 16384 || info->imageExtent.height > 16384)
            throw new VulkanResultException(VkResult.VK_ERROR_INITIALIZATION_FAILED, $"image extent {info->imageExtent.width}x{info->imageExtent.height}");
        if (surface.IsX11 && surface.WindowGeometry() is null)
            return VkResult.VK_ERROR_SURFACE_LOST_KHR;
        uint count = Math.Clamp(info->minImageCount, 3, Surface.MaxImages);

        var swapchain = new Swapchain(device, device.Functions, surface, info, count);
        VkResult r = swapchain.CreateImages(info);
        if (r != VkResult.VK_SUCCESS)
        {
            swapchain.DestroyObjects();
            return r;
        }
        All[swapchain.Id] = swapchain;
        *pSwapchain = swapchain.Id;
        return VkResult.VK_SUCCESS;
    }

    private VkResult CreateImages(VkSwapchainCreateInfoKHR* info)
    {
        ulong dev = _device.Handle;
        var imageInfo = new VkImageCreateInfo
        {
            sType = VkImageCreateInfo.SType,
            imageType = VkImageType.VK_IMAGE_TYPE_2D,
            format = info->imageFormat,
            extent = new VkExtent3D { width = Extent.width, height = Extent.height, depth = 1 },
            mipLevels = 1,
            arrayLayers = Math.Max(1, info->imageArrayLayers),
            samples = VkSampleCountFlagBits.VK_SAMPLE_COUNT_1_BIT,
            tiling = VkImageTiling.VK_IMAGE_TILING_OPTIMAL,
            usage = info->imageUsage | (uint)VkImageUsageFlagBits.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
            sharingMode = info->imageSharingMode,
            queueFamilyIndexCount = info->imageSharingMode == VkSharingMode.VK_SHARING_MODE_CONCURRENT ? info->queueFamilyIndexCount : 0,
            pQueueFamilyIndices = info->imageSharingMode == VkSharingMode.VK_SHARING_MODE_CONCURRENT ? info->pQueueFamilyIndices : null,
            initialLayout = VkImageLayout.VK_IMAGE_LAYOUT_UNDEFINED,
        };
        const uint deviceLocal = (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
        const uint hostVisible = (uint)(VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        const uint hostCached = (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
        ulong stride = (ulong)Extent.width * 4;

        for (int i = 0; i < _images.Length; i++)
        {
            ref SwapImage img = ref _images[i];
            ulong id;
            VkResult r = Fn.vkCreateImage(dev, &imageInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
                return r;
            img.Image = id;
            VkMemoryRequirements req;
            Fn.vkGetImageMemoryRequirements(dev, img.Image, &req);
            r = Allocate(req, deviceLocal, 0, out img.Memory);
            if (r != VkResult.VK_SUCCESS)
                return r;
            r = Fn.vkBindImageMemory(dev, img.Image, img.Memory, 0);
            if (r != VkResult.VK_SUCCESS)
                return r;
            if (!Surface.IsX11)
                continue;

            var bufferInfo = new VkBufferCreateInfo
            {
                sType = VkBufferCreateInfo.SType,
                size = stride * Extent.height,
                usage = (uint)VkBufferUsageFlagBits.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                sharingMode = VkSharingMode.VK_SHARING_MODE_EXCLUSIVE,
            };
            r = Fn.vkCreateBuffer(dev, &bufferInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
                return r;
            img.Buffer = id;
            Fn.vkGetBufferMemoryRequirements(dev, img.Buffer, &req);
            req.memoryTypeBits &= _device.PhysicalDevice.MappableTypeBits;
            r = Allocate(req, hostVisible, hostCached, out img.BufferMemory);
            if (r != VkResult.VK_SUCCESS)
                return r;
            r = Fn.vkBindBufferMemory(dev, img.Buffer, img.BufferMemory, 0);
            if (r != VkResult.VK_SUCCESS)
                return r;
            void* pixels;
            r = Fn.vkMapMemory(dev, img.BufferMemory, 0, ulong.MaxValue, 0, &pixels);
            if (r != VkResult.VK_SUCCESS)
                return r;
            img.Pixels = (byte*)pixels;
            img.BlobFd = _device.Memories.TryGetValue(img.BufferMemory, out DeviceMemory? m) ? m.BlobFd : -1;

            var fenceInfo = new VkFenceCreateInfo { sType = VkFenceCreateInfo.SType };
            r = Fn.vkCreateFence(dev, &fenceInfo, null, &id);
            if (r != VkResult.VK_SUCCESS)
                return r;
            img.Fence = id;
        }
        return VkResult.VK_SUCCESS;
    }

    /// <summary>A memory type in <paramref name="req"/>'s bits with <paramref name="required"/>, preferring <paramref name="preferred"/> too.</summary>
    private VkResult Allocate(VkMemoryRequirements req, uint required, uint preferred, out ulong memory)
    {
        memory = 0;
        ref readonly VkPhysicalDeviceMemoryProperties props = ref _device.PhysicalDevice.MemoryProperties;
        int chosen = -1;
        for (int pass = 0; pass < 2 && chosen < 0; pass++)
        {
            uint want = pass == 0 ? required | preferred : required;
            for (int t = 0; t < props.memoryTypeCount && t < 32; t++)
                if ((req.memoryTypeBits & (1u << t)) != 0 && (props.memoryTypes[t].propertyFlags & want) == want)
                {
                    chosen = t;
                    break;
                }
        }
        if (chosen < 0)
        {
            // DEVICE_LOCAL is only a preference for images (a host without it still draws).
            for (int t = 0; t < props.memoryTypeCount && t < 32 && chosen < 0; t++)
                if ((req.memoryTypeBits & (1u << t)) != 0 && (required & (uint)VkMemoryPropertyFlagBits.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0)
                    chosen = t;
            if (chosen < 0)
                throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_DEVICE_MEMORY, $"no memory type with flags 0x{required:x} in bits 0x{req.memoryTypeBits:x}");
        }
        var allocate = new VkMemoryAllocateInfo { sType = VkMemoryAllocateInfo.SType, allocationSize = req.size, memoryTypeIndex = (uint)chosen };
        ulong id;
        VkResult r = Fn.vkAllocateMemory(_device.Handle, &allocate, null, &id);
        if (r == VkResult.VK_SUCCESS)
            memory = id;
        return r;
    }

    /// <summary>Pre-records each image's copy for the family of the queue that presents (again if it changes).</summary>
    private VkResult EnsureCommands(Queue queue)
    {
        if (_poolFamily == queue.Family)
            return VkResult.VK_SUCCESS;
        ulong dev = _device.Handle;
        if (_commandPool != 0)
        {
            Fn.vkDeviceWaitIdle(dev);
            Fn.vkDestroyCommandPool(dev, _commandPool, null);
            _commandPool = 0;
            _poolFamily = uint.MaxValue;
        }
        var poolInfo = new VkCommandPoolCreateInfo { sType = VkCommandPoolCreateInfo.SType, queueFamilyIndex = queue.Family };
        ulong pool;
        VkResult r = Fn.vkCreateCommandPool(dev, &poolInfo, null, &pool);
        if (r != VkResult.VK_SUCCESS)
            return r;
        _commandPool = pool;
        _poolFamily = queue.Family;
        var range = new VkImageSubresourceRange { aspectMask = (uint)VkImageAspectFlagBits.VK_IMAGE_ASPECT_COLOR_BIT, levelCount = 1, layerCount = 1 };
        for (int i = 0; i < _images.Length; i++)
        {
            ref SwapImage img = ref _images[i];
            var alloc = new VkCommandBufferAllocateInfo
            {
                sType = VkCommandBufferAllocateInfo.SType,
                commandPool = pool,
                level = VkCommandBufferLevel.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                commandBufferCount = 1,
            };
            ulong cb;
            r = Fn.vkAllocateCommandBuffers(dev, &alloc, &cb);
            if (r != VkResult.VK_SUCCESS)
                return r;
            img.CommandBuffer = cb;
            var begin = new VkCommandBufferBeginInfo { sType = VkCommandBufferBeginInfo.SType };
            r = Fn.vkBeginCommandBuffer(cb, &begin);
            if (r != VkResult.VK_SUCCESS)
                return r;
            var toTransfer = new VkImageMemoryBarrier
            {
                sType = VkImageMemoryBarrier.SType,
                srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | (uint)VkAccessFlagBits.VK_ACCESS_MEMORY_WRITE_BIT,
                dstAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_READ_BIT,
                oldLayout = VkImageLayout.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                newLayout = VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                srcQueueFamilyIndex = uint.MaxValue,
                dstQueueFamilyIndex = uint.MaxValue,
                image = img.Image,
                subresourceRange = range,
            };
            Fn.vkCmdPipelineBarrier(cb, (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, null, 0, null, 1, &toTransfer);
            var region = new VkBufferImageCopy
            {
                imageSubresource = new VkImageSubresourceLayers { aspectMask = (uint)VkImageAspectFlagBits.VK_IMAGE_ASPECT_COLOR_BIT, layerCount = 1 },
                imageExtent = new VkExtent3D { width = Extent.width, height = Extent.height, depth = 1 },
            };
            Fn.vkCmdCopyImageToBuffer(cb, img.Image, VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, img.Buffer, 1, &region);
            var back = toTransfer;
            back.srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_READ_BIT;
            back.dstAccessMask = 0;
            back.oldLayout = VkImageLayout.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
            back.newLayout = VkImageLayout.VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
            var toHost = new VkBufferMemoryBarrier
            {
                sType = VkBufferMemoryBarrier.SType,
                srcAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_TRANSFER_WRITE_BIT,
                dstAccessMask = (uint)VkAccessFlagBits.VK_ACCESS_HOST_READ_BIT,
                srcQueueFamilyIndex = uint.MaxValue,
                dstQueueFamilyIndex = uint.MaxValue,
                buffer = img.Buffer,
                size = ulong.MaxValue,
            };
            Fn.vkCmdPipelineBarrier(cb, (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_TRANSFER_BIT,
                (uint)(VkPipelineStageFlagBits.VK_PIPELINE_STAGE_HOST_BIT | VkPipelineStageFlagBits.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT),
                0, 0, null, 1, &toHost, 1, &back);
            r = Fn.vkEndCommandBuffer(cb);
            if (r != VkResult.VK_SUCCESS)
                return r;
        }
        return VkResult.VK_SUCCESS;
    }

    public void Destroy()
    {
        All.TryRemove(Id, out _);
        lock (_lock)
        {
            // The app waited for its own work; ours (copies) finished inside present.
            DestroyObjects();
        }
    }

    private void DestroyObjects()
    {
        ulong dev = _device.Handle;
        if (Surface.IsX11 && !_device.Ring.IsLost)
        {
            nint conn = Surface.Connection;
            bool connected = conn != 0 && Xcb.ConnectionHasError(conn) == 0;
            for (int i = 0; i < _images.Length && connected; i++)
                if (_images[i].ShmSegment != 0)
                    Xcb.ShmDetach(conn, _images[i].ShmSegment);
            if (connected && _gc != 0)
                Xcb.FreeGc(conn, _gc);
            if (connected)
                Xcb.Flush(conn);
        }
        if (_commandPool != 0)
            Fn.vkDestroyCommandPool(dev, _commandPool, null);
        for (int i = 0; i < _images.Length; i++)
        {
            ref SwapImage img = ref _images[i];
            if (img.Fence != 0) Fn.vkDestroyFence(dev, img.Fence, null);
            if (img.Buffer != 0) Fn.vkDestroyBuffer(dev, img.Buffer, null);
            if (img.BufferMemory != 0) Fn.vkFreeMemory(dev, img.BufferMemory, null);
            if (img.Image != 0) Fn.vkDestroyImage(dev, img.Image, null);
            if (img.Memory != 0) Fn.vkFreeMemory(dev, img.Memory, null);
            img = default;
        }
        _commandPool = 0;
    }

    public VkResult GetImages(uint* count, ulong* images)
    {
        if (images == null)
        {
            *count = (uint)_images.Length;
            return VkResult.VK_SUCCESS;
        }
        uint n = Math.Min(*count, (uint)_images.Length);
        for (int i = 0; i < n; i++)
            images[i] = _images[i].Image;
        *count = n;
        return n < _images.Length ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
    }

    // ---- acquire ----------------------------------------------------------------------------------

    public VkResult Acquire(ulong timeout, ulong semaphore, ulong fence, uint* index)
    {
        uint chosen;
        lock (_lock)
        {
            if (_retired)
                return VkResult.VK_ERROR_OUT_OF_DATE_KHR;
            if (_status < 0)
                return _status;
            chosen = uint.MaxValue;
            for (uint k = 0; k < _images.Length; k++)
            {
                uint i = (_nextImage + k) % (uint)_images.Length;
                if (!_images[i].Acquired)
                {
                    chosen = i;
                    break;
                }
            }
            // Only the app holds images (presented ones are idle), so none becomes free by waiting.
            if (chosen == uint.MaxValue)
                return timeout == 0 ? VkResult.VK_NOT_READY : VkResult.VK_TIMEOUT;
            _images[chosen].Acquired = true;
            _nextImage = (chosen + 1) % (uint)_images.Length;
        }
        if (semaphore != 0 || fence != 0)
        {
            VkResult r = Signal(_device.Queues[0].Handle, semaphore, fence);
            if (r != VkResult.VK_SUCCESS)
            {
                lock (_lock)
                    _images[chosen].Acquired = false;
                return r;
            }
        }
        *index = chosen;
        return VkResult.VK_SUCCESS;
    }

    /// <summary>An empty submit that signals <paramref name="semaphore"/> and <paramref name="fence"/> (either may be 0).</summary>
    private VkResult Signal(ulong queue, ulong semaphore, ulong fence)
    {
        var submit = new VkSubmitInfo
        {
            sType = VkSubmitInfo.SType,
            signalSemaphoreCount = semaphore != 0 ? 1u : 0u,
            pSignalSemaphores = &semaphore,
        };
        return Fn.vkQueueSubmit(queue, semaphore != 0 ? 1u : 0u, &submit, fence);
    }

    public VkResult Release(uint count, uint* indices)
    {
        lock (_lock)
        {
            for (uint i = 0; i < count; i++)
                if (indices[i] < _images.Length)
                    _images[indices[i]].Acquired = false;
        }
        return VkResult.VK_SUCCESS;
    }

    // ---- present ----------------------------------------------------------------------------------

    /// <summary>
    /// Presents image <paramref name="index"/> on <paramref name="queue"/>, first waiting on
    /// <paramref name="waits"/> (the app's semaphores, given to the first swapchain of a present only).
    /// </summary>
    public VkResult Present(Queue queue, uint index, uint waitCount, ulong* waits, ulong presentFence,
        VkPresentModeKHR? mode, ulong presentId)
    {
        lock (_lock)
        {
            if (index >= _images.Length || !_images[index].Acquired)
                throw new VulkanResultException(VkResult.VK_ERROR_UNKNOWN, $"image {index} of swapchain 0x{Id:x} was not acquired");
            _images[index].Acquired = false;
            if (mode is { } m && Surface.IsSupported(m))
                PresentMode = m;
            if (_status < 0)
            {
                // Out of date or lost: the app's semaphores are still consumed.
                uint* st = stackalloc uint[(int)Math.Min(waitCount, 64u)];
                if (waitCount != 0)
                    SubmitWaiting(queue, waitCount, waits, st, 0, presentFence);
                return _status;
            }
            VkResult r = Surface.IsX11
                ? PresentX11(queue, ref _images[index], waitCount, waits)
                : PresentHeadless(queue, waitCount, waits, presentFence);
            if (Surface.IsX11 && presentFence != 0 && r >= 0)
                Signal(queue.Handle, 0, presentFence);
            if (r >= 0 && presentId != 0)
            {
                _presentedId = Math.Max(_presentedId, presentId);
                Monitor.PulseAll(_lock);
            }
            if (r < 0 && r != VkResult.VK_ERROR_DEVICE_LOST)
            {
                _status = r;
                Monitor.PulseAll(_lock);
            }
            return r;
        }
    }

    private VkResult PresentHeadless(Queue queue, uint waitCount, ulong* waits, ulong presentFence)
    {
        Pace();
        if (waitCount == 0 && presentFence == 0)
            return VkResult.VK_SUCCESS;
        uint* stages = stackalloc uint[(int)Math.Min(waitCount, 64u)];
        return SubmitWaiting(queue, waitCount, waits, stages, 0, presentFence);
    }

    private VkResult SubmitWaiting(Queue queue, uint waitCount, ulong* waits, uint* stages, ulong commandBuffer, ulong fence)
    {
        if (waitCount > 64)
            throw new VulkanResultException(VkResult.VK_ERROR_OUT_OF_HOST_MEMORY, $"{waitCount} wait semaphores in one present");
        for (int i = 0; i < waitCount; i++)
            stages[i] = (uint)VkPipelineStageFlagBits.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
        var submit = new VkSubmitInfo
        {
            sType = VkSubmitInfo.SType,
            waitSemaphoreCount = waitCount,
            pWaitSemaphores = waits,
            pWaitDstStageMask = stages,
            commandBufferCount = commandBuffer != 0 ? 1u : 0u,
            pCommandBuffers = &commandBuffer,
        };
        return Fn.vkQueueSubmit(queue.Handle, 1, &submit, fence);
    }

    private VkResult PresentX11(Queue queue, ref SwapImage img, uint waitCount, ulong* waits)
    {
        VkResult r = EnsureCommands(queue);
        if (r != VkResult.VK_SUCCESS)
            return r;
        uint* stages = stackalloc uint[(int)Math.Min(waitCount, 64u)];
        r = SubmitWaiting(queue, waitCount, waits, stages, img.CommandBuffer, img.Fence);
        if (r != VkResult.VK_SUCCESS)
            return r;
        ulong fence = img.Fence;
        r = Fn.vkWaitForFences(_device.Handle, 1, &fence, 1, ulong.MaxValue);
        if (r != VkResult.VK_SUCCESS)
            return r;
        Fn.vkResetFences(_device.Handle, 1, &fence);

        nint conn = Surface.Connection;
        if (Xcb.ConnectionHasError(conn) != 0 || Surface.WindowGeometry() is not { } g)
            return VkResult.VK_ERROR_SURFACE_LOST_KHR;
        if (g.Width != Extent.width || g.Height != Extent.height)
            return VkResult.VK_ERROR_OUT_OF_DATE_KHR;
        Pace();
        if (_gc == 0)
        {
            uint gc = Xcb.GenerateId(conn);
            uint graphicsExposures = 0; // XCB_GC_GRAPHICS_EXPOSURES off: no events for the app
            if (!Check(conn, Xcb.CreateGc(conn, gc, Surface.Window, 1u << 16, &graphicsExposures)))
                return VkResult.VK_ERROR_SURFACE_LOST_KHR;
            _gc = gc;
        }
        if (!_shmTried)
        {
            _shmTried = true;
            _shm = !ShmOff && Xcb.ShmUsable(conn);
            IcdLog.Info($"X11 present to window 0x{Surface.Window:x}: {(_shm ? "MIT-SHM (the blob's fd, no copy)" : "xcb_put_image")}" +
                        (ShmOff ? " (VENUS_WSI_SHM=0)" : ""));
        }
        if (_shm && img.ShmSegment == 0 && img.BlobFd >= 0)
            img.ShmSegment = AttachShm(conn, img.BlobFd);
        // A checked request's reply comes after the server ran it, so once checked the buffer is
        // free for the next copy; an error (the window went away meanwhile) stays ours.
        bool drawn = img.ShmSegment != 0
            ? Check(conn, Xcb.ShmPutImage(conn, Surface.Window, _gc, (ushort)Extent.width, (ushort)Extent.height, 0, 0,
                (ushort)Extent.width, (ushort)Extent.height, 0, 0, g.Depth, Xcb.ImageFormatZPixmap, 0, img.ShmSegment, 0))
            : PutImageStrips(conn, g.Depth, img.Pixels);
        return drawn ? VkResult.VK_SUCCESS : VkResult.VK_ERROR_SURFACE_LOST_KHR;
    }

    /// <summary>Waits for a checked request; false (and a log line) when the server answered with an error.</summary>
    private bool Check(nint conn, uint cookie)
    {
        Xcb.XcbGenericError* error = Xcb.RequestCheck(conn, cookie);
        if (error == null)
            return true;
        IcdLog.Info($"X11 present to window 0x{Surface.Window:x}: X error {error->ErrorCode}");
        Xcb.Free(error);
        return false;
    }

    private uint AttachShm(nint conn, int blobFd)
    {
        int fd = Posix.Dup(blobFd); // libxcb closes the fd it sends
        if (fd < 0)
            return 0;
        uint seg = Xcb.GenerateId(conn);
        Xcb.XcbGenericError* error = Xcb.RequestCheck(conn, Xcb.ShmAttachFdChecked(conn, seg, fd, 1));
        if (error != null)
        {
            IcdLog.Info($"X11 present: the server refused the blob's fd for MIT-SHM (X error {error->ErrorCode}); using xcb_put_image");
            Xcb.Free(error);
            _shm = false;
            return 0;
        }
        return seg;
    }

    private bool PutImageStrips(nint conn, byte depth, byte* pixels)
    {
        uint stride = Extent.width * 4;
        ulong maxBytes = (ulong)Xcb.GetMaximumRequestLength(conn) * 4;
        const uint header = 24; // the PutImage request before its data
        uint rows = maxBytes > header + stride ? (uint)Math.Min((maxBytes - header) / stride, Extent.height) : 1;
        uint strips = (Extent.height + rows - 1) / rows;
        uint* cookies = stackalloc uint[(int)Math.Min(strips, 16384u)];
        for (uint s = 0, y = 0; s < strips; s++, y += rows)
        {
            uint h = Math.Min(rows, Extent.height - y);
            cookies[s] = Xcb.PutImage(conn, Xcb.ImageFormatZPixmap, Surface.Window, _gc, (ushort)Extent.width, (ushort)h, 0, (short)y, 0, depth,
                stride * h, pixels + (ulong)y * stride);
        }
        bool ok = true;
        for (uint s = 0; s < strips; s++)
            ok &= Check(conn, cookies[s]);
        return ok;
    }

    /// <summary>FIFO and FIFO_RELAXED: wait for the next tick of the refresh clock (sleeping, never spinning).</summary>
    private void Pace()
    {
        if (PresentMode is not (VkPresentModeKHR.VK_PRESENT_MODE_FIFO_KHR or VkPresentModeKHR.VK_PRESENT_MODE_FIFO_RELAXED_KHR))
            return;
        long period = Stopwatch.Frequency / FifoHz;
        long now = Stopwatch.GetTimestamp();
        if (_nextFrameTicks == 0 || (PresentMode == VkPresentModeKHR.VK_PRESENT_MODE_FIFO_RELAXED_KHR && now >= _nextFrameTicks))
        {
            _nextFrameTicks = now + period;
            return;
        }
        long wait = _nextFrameTicks - now;
        if (wait > 0)
            Thread.Sleep(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
        _nextFrameTicks = Math.Max(_nextFrameTicks + period, Stopwatch.GetTimestamp());
    }

    /// <summary>VENUS_WSI_SHM=0: always xcb_put_image (what a remote server or a VM gets), e.g. to test that path.</summary>
    private static readonly bool ShmOff = Environment.GetEnvironmentVariable("VENUS_WSI_SHM") == "0";

    private static readonly int FifoHz =
        int.TryParse(Environment.GetEnvironmentVariable("VENUS_WSI_FIFO_HZ"), out int hz) && hz is > 0 and <= 1000 ? hz : 60;

    // ---- VK_KHR_present_wait ---------------------------------------------------------------------

    public VkResult WaitForPresent(ulong presentId, ulong timeout)
    {
        long deadline = timeout >= long.MaxValue / 2 ? long.MaxValue
            : Environment.TickCount64 + (long)Math.Min(timeout / 1_000_000, long.MaxValue / 4);
        lock (_lock)
        {
            while (_presentedId < presentId)
            {
                if (_status < 0)
                    return _status;
                long left = deadline - Environment.TickCount64;
                if (timeout == 0 || left <= 0)
                    return VkResult.VK_TIMEOUT;
                Monitor.Wait(_lock, (int)Math.Min(left, 100));
            }
            return _status < 0 ? _status : VkResult.VK_SUCCESS;
        }
    }
}
