#pragma once
// Sample documents in the shape of the control API spec, shared by the ctl tests.

namespace taskpoller::ctl::test {

inline constexpr const char* running_batch = R"({"id":"b-0001","state":"submitted",
 "service":"cvm","action":"StopInstances","region":"ap-guangzhou","code":0,"message":"",
 "created_at":"2026-11-27T23:15:20.123Z","finished_at":null,"labels":{"team":"web"},
 "client_token":null,
 "counts":{"pending":0,"running":2,"succeeded":0,"failed":0,"timed_out":0,"not_found":0,
           "cancelled":0,"rejected":1,"unknown":0},
 "entries":[{"resource_id":"ins-1","code":0,"message":"","request_id":"101","state":"running"},
            {"resource_id":"ins-2","code":0,"message":"","request_id":"102","state":"running"},
            {"resource_id":"ins-bad","code":9003,"message":"instance not found",
             "request_id":null,"state":"rejected"}]})";

inline constexpr const char* done_batch = R"({"id":"b-0002","state":"done",
 "service":"cvm","action":"StopInstances","region":"ap-guangzhou","code":0,"message":"",
 "created_at":"2026-11-27T23:15:20.123Z","finished_at":"2026-11-27T23:16:20.123Z","labels":{},
 "client_token":"tok",
 "counts":{"pending":0,"running":0,"succeeded":2,"failed":0,"timed_out":0,"not_found":0,
           "cancelled":0,"rejected":0,"unknown":0},
 "entries":[{"resource_id":"ins-1","code":0,"message":"","request_id":"101","state":"succeeded"},
            {"resource_id":"ins-2","code":0,"message":"","request_id":"102","state":"succeeded"}]})";

inline constexpr const char* running_task = R"({"service":"lb","request_id":"6356081",
 "key":"lb/6356081","state":"running","action":"ModifyLoadBalancerBackends","batch_id":null,
 "resources":["lb-xyz"],"labels":{},"last_status":"running","last_error":null,"polls":3,
 "created_at":"2026-11-27T23:15:20.123Z","finished_at":null,
 "deadline":"2026-11-27T23:45:20.123Z"})";

}  // namespace taskpoller::ctl::test
