import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { DependencyLog } from './dependency-log';
import { LifecycleState } from './lifecycle.state';

/** Adapters every feature shares: the clock and the service's lifecycle state. */
@Global()
@Module({ providers: [Clock, LifecycleState, DependencyLog], exports: [Clock, LifecycleState, DependencyLog] })
export class CommonModule {}
