using Venus.GuestIcd.Generated;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Runtime;

/// <summary>
/// VK_EXT/KHR_calibrated_timestamps across the transport. The device's clock is the host's
/// (asked for with vkGetCalibratedTimestampsKHR); CLOCK_MONOTONIC and CLOCK_MONOTONIC_RAW are
/// this machine's, which inside a VM are not the host's: they are read here, around the host
/// call, so the deviation covers the round trip. The host's own CPU time domains mean nothing to
/// the guest and are not offered.
/// </summary>
internal static unsafe class Timestamps
{
    /// <summary>The device domain where the host has it, then the guest's two clocks.</summary>
    public static VkTimeDomainKHR[] Domains(PhysicalDevice pd)
    {
        var domains = new List<VkTimeDomainKHR>();
        if (pd.HasExtension("VK_KHR_calibrated_timestamps") || pd.HasExtension("VK_EXT_calibrated_timestamps"))
        {
            uint count = 0;
            VkResult r = Calls.vkGetPhysicalDeviceCalibrateableTimeDomainsKHR(pd.Ring, pd.Handle, &count, null);
            if (r == VkResult.VK_SUCCESS && count > 0)
            {
                var host = new VkTimeDomainKHR[count];
                fixed (VkTimeDomainKHR* p = host)
                    r = Calls.vkGetPhysicalDeviceCalibrateableTimeDomainsKHR(pd.Ring, pd.Handle, &count, p);
                if (r is VkResult.VK_SUCCESS or VkResult.VK_INCOMPLETE && Array.IndexOf(host, VkTimeDomainKHR.VK_TIME_DOMAIN_DEVICE_KHR, 0, (int)Math.Min(count, (uint)host.Length)) >= 0)
                    domains.Add(VkTimeDomainKHR.VK_TIME_DOMAIN_DEVICE_KHR);
            }
        }
        domains.Add(VkTimeDomainKHR.VK_TIME_DOMAIN_CLOCK_MONOTONIC_KHR);
        domains.Add(VkTimeDomainKHR.VK_TIME_DOMAIN_CLOCK_MONOTONIC_RAW_KHR);
        return domains.ToArray();
    }

    /// <summary>
    /// The device's timestamp from the host (one call whatever the count), the guest's clocks read
    /// right after it; the deviation is the guest's CLOCK_MONOTONIC_RAW span around all of it plus
    /// the host's own deviation (or 1 ns, a clock tick, without a device domain).
    /// </summary>
    public static VkResult Get(Device device, uint count, VkCalibratedTimestampInfoKHR* infos, ulong* timestamps, ulong* maxDeviation)
    {
        bool wantDevice = false;
        for (uint i = 0; i < count; i++)
            wantDevice |= infos[i].timeDomain == VkTimeDomainKHR.VK_TIME_DOMAIN_DEVICE_KHR;

        ulong begin = Posix.ClockNanoseconds(Posix.ClockMonotonicRaw);
        ulong deviceTime = 0, deviceDeviation = 1;
        if (wantDevice)
        {
            var info = new VkCalibratedTimestampInfoKHR
            {
                sType = VkCalibratedTimestampInfoKHR.SType,
                timeDomain = VkTimeDomainKHR.VK_TIME_DOMAIN_DEVICE_KHR,
            };
            VkResult r = Calls.vkGetCalibratedTimestampsKHR(device.Ring, device.Handle, 1, &info, &deviceTime, &deviceDeviation);
            if (r != VkResult.VK_SUCCESS)
                return r;
        }
        ulong monotonic = Posix.ClockNanoseconds(Posix.ClockMonotonic);
        ulong raw = Posix.ClockNanoseconds(Posix.ClockMonotonicRaw);
        for (uint i = 0; i < count; i++)
        {
            timestamps[i] = infos[i].timeDomain switch
            {
                VkTimeDomainKHR.VK_TIME_DOMAIN_DEVICE_KHR => deviceTime,
                VkTimeDomainKHR.VK_TIME_DOMAIN_CLOCK_MONOTONIC_KHR => monotonic,
                VkTimeDomainKHR.VK_TIME_DOMAIN_CLOCK_MONOTONIC_RAW_KHR => raw,
                _ => 0, // not offered by vkGetPhysicalDeviceCalibrateableTimeDomainsKHR
            };
        }
        ulong end = Posix.ClockNanoseconds(Posix.ClockMonotonicRaw);
        *maxDeviation = (end - begin) + Math.Max(deviceDeviation, 1);
        return VkResult.VK_SUCCESS;
    }
}
